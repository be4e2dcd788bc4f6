//! Boot tests for cairn systems: build an image with the `cairn` binary
//! (cached by its inputs under ~/.cache/cairn/test-images), boot it with
//! `cairn run qemu` under TCG, and wait for lines on the serial console.
//!
//! ```no_run
//! use std::time::Duration;
//! use cairn_qemu_tests::{Arch, Guest, Options, build};
//! let built = build("examples/hello.yml", Arch::Amd64).unwrap();
//! let mut guest = Guest::boot(&built, &Options::default()).unwrap();
//! guest.wait_for("cairn-init: ready", Duration::from_secs(60)).unwrap();
//! ```

mod build;
mod check;
pub mod disk_file;
mod error;
mod guest;
mod pcrs;

pub use build::{
    Arch, Built, Format, build, build_as, build_config, build_config_as, cairn, ensure_package,
    repo_root, test_store,
};
pub use check::{fatal_before_any_container, flip_squashfs_byte, in_order};
pub use error::{BootError, retry_on_stall};
pub use guest::{Guest, Options};
pub use pcrs::{booted_pcrs, predict, predict_entry};
