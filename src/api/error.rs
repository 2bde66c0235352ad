//! ServiceError to gRPC status, once for the whole API.

use crate::service::ServiceError;
use tonic::Status;

impl From<ServiceError> for Status {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::InvalidArgument { .. } => Status::invalid_argument(e.to_string()),
            ServiceError::NotFound(m) => Status::not_found(m),
            ServiceError::AlreadyExists(m) => Status::already_exists(m),
            ServiceError::FailedPrecondition(m) => Status::failed_precondition(m),
            ServiceError::PermissionDenied(m) => Status::permission_denied(m),
            ServiceError::Unauthenticated(m) => Status::unauthenticated(m),
            ServiceError::Unavailable(m) => Status::unavailable(m),
            ServiceError::Exhausted(m) => Status::resource_exhausted(m),
            ServiceError::CredentialRefused { reason, .. } => {
                use tonic_types::{ErrorDetails, StatusExt};
                let details = ErrorDetails::with_error_info(
                    reason,
                    "talentcard.v1",
                    std::collections::HashMap::new(),
                );
                Status::with_error_details(tonic::Code::FailedPrecondition, e.to_string(), details)
            }
            ServiceError::Internal(detail) => {
                tracing::error!(%detail, "internal error");
                Status::internal("internal error; the gateway logged the details")
            }
        }
    }
}
