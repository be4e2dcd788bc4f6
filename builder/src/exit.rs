//! Exit codes: 0 success, 1 user error (bad input, verification failure),
//! 2 environment error (network, disk, missing tools).
//!
//! Library errors say which class they belong to through [`Classify`]; the CLI
//! walks the error chain and takes the first class it finds.

use std::process::ExitCode;

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

macro_rules! classify_as {
    ($cause:expr, $($ty:ty),+ $(,)?) => {
        $(
            if let Some(e) = $cause.downcast_ref::<$ty>() {
                return Some(e.class());
            }
        )+
    };
}

fn classify(cause: &(dyn std::error::Error + 'static)) -> Option<ErrorClass> {
    classify_as!(
        cause,
        CliError,
        crate::config::LoadError,
        crate::oci::StoreError,
        crate::oci::RegistryError,
        crate::trust::TrustError,
        crate::pkg::deb::DebError,
        crate::pkg::debian::DebianError,
        crate::pkg::build::BuildError,
        crate::pkg::crates::CrateError,
        crate::pkg::debs::DebsError,
        crate::kernel::KernelError,
        crate::assemble::AssembleError,
        crate::output::OutputError,
        crate::run::RunError,
    );
    if let Some(io) = cause.downcast_ref::<std::io::Error>() {
        use std::io::ErrorKind::*;
        return Some(match io.kind() {
            NotFound | PermissionDenied | InvalidInput | InvalidData | AlreadyExists => {
                ErrorClass::User
            }
            _ => ErrorClass::Environment,
        });
    }
    None
}

/// The class of an error: the first classified cause in its chain, else user.
pub fn class_of(err: &anyhow::Error) -> ErrorClass {
    err.chain().find_map(classify).unwrap_or(ErrorClass::User)
}

pub fn code_for(err: &anyhow::Error) -> ExitCode {
    ExitCode::from(class_of(err).exit_code())
}
