//! Packages: `pkg/<name>/build.yml` -> a signed, reproducible, multi-arch OCI
//! image in the local store, built from pinned Debian packages, files and
//! crates of this workspace, with no Docker and no root.

pub mod build;
pub mod crates;
pub mod deb;
pub mod debian;
pub mod debs;
pub mod elf;
pub mod image;
pub mod layer;
pub mod spec;
