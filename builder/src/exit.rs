//! Exit codes: 0 success, 1 user error (bad input, verification failure),
//! 2 environment error (network, disk, missing tools).
//!
//! Library errors say which class they belong to through [`Classify`]; the CLI
//! walks the error chain and takes the first class it finds
//! (`cli::exit_code`, where every error type is known). This module names
//! no other module, so every error type can import it without a circle.

/// Who has to act to fix an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad input or a failed verification: the user must change something.
    User,
    /// The network, the disk or the host failed: retrying may help.
    Environment,
}

impl ErrorClass {
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorClass::User => 1,
            ErrorClass::Environment => 2,
        }
    }
}

/// Implemented by every library error enum.
pub trait Classify {
    fn class(&self) -> ErrorClass;
}

/// An error raised at the CLI edge that carries its class explicitly.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    pub message: String,
    pub class: ErrorClass,
}

impl CliError {
    pub fn user(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            class: ErrorClass::User,
        }
    }
    pub fn environment(message: impl Into<String>) -> Self {
        CliError {
            message: message.into(),
            class: ErrorClass::Environment,
        }
    }
}

impl Classify for CliError {
    fn class(&self) -> ErrorClass {
        self.class
    }
}
