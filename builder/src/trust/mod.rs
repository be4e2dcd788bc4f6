//! Signing keys, signatures and the trust policy (being written).

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("trust is not written yet")]
    Unwritten,
}

impl Classify for TrustError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}
