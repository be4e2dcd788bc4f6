//! Config files: parse, merge and validate (being written).

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("config loading is not written yet")]
    Unwritten,
}

impl Classify for LoadError {
    fn class(&self) -> ErrorClass {
        ErrorClass::User
    }
}
