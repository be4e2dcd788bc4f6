//! cairn: builds immutable, container-only Linux systems from a YAML file.
//!
//! The library follows the build pipeline, one module per stage:
//! `config` (parse, merge, validate) -> `oci` (resolve and store images) ->
//! `trust` (verify signatures against the policy) -> `plan` (every image
//! pinned, checked and trusted) -> `assemble` (the root filesystem) ->
//! `output` (the image formats). The CLI in `cli` is a thin layer over these
//! stages.

pub mod arch;
pub mod assemble;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod exit;
pub mod flash;
pub mod fstree;
pub mod kernel;
pub mod oci;
pub mod output;
pub mod pkg;
pub mod plan;
pub mod run;
pub mod size;
pub mod trust;
pub mod ui;
pub mod update;
