//! `cairn run`: boots a built system on this machine. Today QEMU with the
//! kernel+initrd output; disk images join when cairn writes them.

pub mod accel;
pub mod console;
pub mod qemu;

use std::io;
use std::path::PathBuf;

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("cannot read {path:?}; build it first with `cairn build -f kernel+initrd`")]
    Missing {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{path:?} is neither an x86_64 bzImage nor an arm64 Image; pass --arch if it is right")]
    UnknownKernel { path: PathBuf },
    #[error("{path:?} is a kernel for {found}, not {asked}")]
    WrongArch {
        path: PathBuf,
        found: &'static str,
        asked: &'static str,
    },
    #[error("`--publish {spec}` is not HOST:GUEST with two port numbers (optionally /tcp or /udp)")]
    BadPublish { spec: String },
    #[error("cannot start {program}; install it (Debian: {package}) or run `make deps`")]
    NoQemu {
        program: String,
        package: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("lost QEMU's console output")]
    Console {
        #[source]
        source: io::Error,
    },
}

impl Classify for RunError {
    fn class(&self) -> ErrorClass {
        match self {
            RunError::Missing { .. }
            | RunError::UnknownKernel { .. }
            | RunError::WrongArch { .. }
            | RunError::BadPublish { .. } => ErrorClass::User,
            RunError::NoQemu { .. } | RunError::Console { .. } => ErrorClass::Environment,
        }
    }
}
