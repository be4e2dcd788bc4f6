//! Helpers for cairn's packages: each a small static binary with no shell
//! and no C library behind it, so a package needs nothing else to run them.

pub mod format;
pub mod mountie;
pub mod probe;
pub mod resolv;
pub mod table;
