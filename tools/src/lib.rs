//! Helpers for cairn's packages: each a small static binary with no shell
//! and no C library behind it, so a package needs nothing else to run them.

pub mod probe;
pub mod resolv;
