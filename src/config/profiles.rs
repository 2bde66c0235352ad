//! The token profiles a configuration names: `profiles_dir` read as `serve` would read it,
//! and every partner's and the own profile found there or among the shipped ones.

use super::Settings;
use crate::trust::{PUBLISHED, ProfileSet};

impl Settings {
    /// Every problem of `profiles_dir` (file, field, why) and of the profiles named.
    pub(super) fn profile_problems(&self) -> Vec<String> {
        let set = match ProfileSet::load(self.profiles_dir.as_deref()) {
            Ok(set) => set,
            // Which ids exist is unknown until the files are right.
            Err(problems) => return problems,
        };
        let known = || {
            let mut ids = set.ids();
            if self.profiles_dir.is_none() {
                ids.push("or a file of profiles_dir");
            }
            ids.join(", ")
        };
        let mut problems = Vec::new();
        if set.get(&self.own_profile).is_none() {
            problems.push(format!(
                "own_profile: unknown profile {:?} (known: {})",
                self.own_profile,
                known()
            ));
        }
        for p in &self.partners {
            if p.profile == PUBLISHED {
                if p.federation_endpoint.is_none() || p.jwks_file.is_some() {
                    problems.push(format!(
                        "partner {}: profile \"published\" is taken from the partner's trust \
                         bundle: it needs federation_endpoint and no jwks_file",
                        p.id
                    ));
                }
            } else if set.get(&p.profile).is_none() {
                problems.push(format!(
                    "partner {}: unknown profile {:?} (known: {})",
                    p.id,
                    p.profile,
                    known()
                ));
            }
        }
        problems
    }
}
