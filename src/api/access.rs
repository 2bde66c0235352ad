//! Who may call what (DESIGN.md "Who may call what"), once, by RPC. An RPC missing here is
//! refused to everyone: a new RPC is closed until it is given its roles.

use crate::domain::Role;

const EVERYONE: &[Role] = &[Role::Public, Role::Counter, Role::Operator, Role::Partner];
const COUNTERS: &[Role] = &[Role::Counter, Role::Operator];
const OPERATORS: &[Role] = &[Role::Operator];
const FEDERATED: &[Role] = &[Role::Operator, Role::Partner];
const PARTNERS: &[Role] = &[Role::Partner];

/// (`Service.Method` of package `talentcard.v1`, the roles that may call it).
const TABLE: &[(&str, &[Role])] = &[
    ("Verification.VerifyCard", EVERYONE),
    ("Verification.VerifyCards", EVERYONE),
    ("Verification.CreateChallenge", EVERYONE),
    ("Entitlements.ListServices", EVERYONE),
    ("Entitlements.MapEntitlements", EVERYONE),
    ("Entitlements.RedeemService", COUNTERS),
    ("Entitlements.ListRedemptions", COUNTERS),
    ("CardIssuance.IssueCard", OPERATORS),
    ("CardIssuance.IssueCards", OPERATORS),
    ("CardIssuance.GetCard", OPERATORS),
    ("CardIssuance.RenewCard", OPERATORS),
    ("CardIssuance.SuspendCard", OPERATORS),
    ("CardIssuance.ResumeCard", OPERATORS),
    ("CardIssuance.RevokeCard", OPERATORS),
    ("Federation.GetTrustBundle", EVERYONE),
    ("Federation.GetStatusList", EVERYONE),
    ("Federation.ReserveQuota", FEDERATED),
    ("Federation.GetFederationStatus", FEDERATED),
    ("Federation.GetOfflineBundle", EVERYONE),
    ("Federation.WitnessCheckpoint", PARTNERS),
    ("Federation.GetWitnessedCheckpoints", PARTNERS),
    ("Admin.ListKeys", OPERATORS),
    ("Admin.RotateKeys", OPERATORS),
    ("Admin.ListPartners", OPERATORS),
    ("Admin.AddPartner", OPERATORS),
    ("Admin.SuspendPartner", OPERATORS),
    ("Admin.RemovePartner", OPERATORS),
    ("Admin.ImportCatalogue", OPERATORS),
    ("Admin.IssueCounterToken", OPERATORS),
    ("Admin.RevokeCounterToken", OPERATORS),
    ("Admin.ListCounterTokens", OPERATORS),
    ("Admin.RevokeKey", OPERATORS),
    ("Admin.RevokePartnerKey", OPERATORS),
];

/// The roles that may call `rpc` (`Service.Method`); none for an RPC not in the table.
pub fn allowed(rpc: &str) -> &'static [Role] {
    TABLE
        .iter()
        .find(|(name, _)| *name == rpc)
        .map_or(&[], |(_, roles)| roles)
}

/// The `Service.Method` name of a gRPC path (`/talentcard.v1.Service/Method`); other
/// packages keep theirs (`grpc.health.v1.Health.Check`). Audit records use it.
pub fn rpc_name(path: &str) -> String {
    let path = path.trim_start_matches('/');
    path.strip_prefix("talentcard.v1.")
        .unwrap_or(path)
        .replacen('/', ".", 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;

    #[test]
    fn every_rpc_of_the_contract_has_its_roles_and_no_other_is_listed() {
        let set = prost_types::FileDescriptorSet::decode(crate::pb::FILE_DESCRIPTOR_SET)
            .expect("descriptor set");
        let mut rpcs = Vec::new();
        for file in set.file.iter().filter(|f| f.package() == "talentcard.v1") {
            for service in &file.service {
                for method in &service.method {
                    rpcs.push(format!("{}.{}", service.name(), method.name()));
                }
            }
        }
        for rpc in &rpcs {
            assert!(!allowed(rpc).is_empty(), "{rpc} is not in the access table");
        }
        for (name, _) in TABLE {
            assert!(rpcs.iter().any(|r| r == name), "{name} is no RPC");
        }
    }

    #[test]
    fn paths_name_their_rpc() {
        assert_eq!(
            rpc_name("/talentcard.v1.Entitlements/RedeemService"),
            "Entitlements.RedeemService"
        );
        assert_eq!(
            rpc_name("/grpc.health.v1.Health/Check"),
            "grpc.health.v1.Health.Check"
        );
        assert_eq!(allowed("Entitlements.RedeemService"), COUNTERS);
        assert!(allowed("Admin.NoSuchThing").is_empty());
    }
}
