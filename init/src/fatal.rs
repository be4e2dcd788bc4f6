//! A step of the boot the system cannot run without.

use std::io;

/// A step of the boot sequence failed and the system cannot run.
#[derive(Debug)]
pub struct Fatal {
    pub what: String,
    pub source: io::Error,
}

impl std::fmt::Display for Fatal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.what, self.source)
    }
}
