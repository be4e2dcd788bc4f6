//! Shared test helpers: a real registry on 127.0.0.1 and small test images.
//!
//! Each test file that needs them declares `mod common;`. Not every file uses
//! every helper, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod cli;
pub mod host;
pub mod hostile;
pub mod image;
pub mod proxy;
pub mod registry;
pub mod uefi;
