//! Registry client (being written).

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("registry client is not written yet")]
    Unwritten,
}

impl Classify for RegistryError {
    fn class(&self) -> ErrorClass {
        ErrorClass::Environment
    }
}
