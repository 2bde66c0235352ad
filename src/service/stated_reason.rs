//! The reason an operator gives for a final act (a revoked key, a revoked counter token):
//! required, and bounded because it is kept in the audit log and may be published.

use super::ServiceError;

/// The most characters of a reason kept.
pub(crate) const MAX_REASON_CHARS: usize = 500;

/// `reason` trimmed, or INVALID_ARGUMENT naming `reason`: `missing` says what to give when
/// it is empty; control characters are refused (reasons reach logs and partners).
pub(crate) fn stated_reason(reason: &str, missing: &str) -> Result<String, ServiceError> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(ServiceError::invalid("reason", missing));
    }
    if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
        return Err(ServiceError::invalid(
            "reason",
            format!("at most {MAX_REASON_CHARS} characters, no control characters"),
        ));
    }
    Ok(reason.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reason_is_required_bounded_and_printable() {
        assert_eq!(stated_reason("  stolen ", "say why").expect("ok"), "stolen");
        for bad in ["", "   ", "line\nbreak", &"原".repeat(MAX_REASON_CHARS + 1)] {
            assert!(stated_reason(bad, "say why").is_err(), "{bad:?}");
        }
        assert!(stated_reason(&"原".repeat(MAX_REASON_CHARS), "say why").is_ok());
    }
}
