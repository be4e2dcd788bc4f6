//! Binaries of this workspace's crates, built static for the package's
//! architecture with `cargo build --release --locked --target <musl>`.
//! Source paths are remapped so the binary does not carry the folder it was
//! built in.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::spec::CrateSpec;
use crate::arch::Arch;
use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum CrateError {
    #[error(
        "no Cargo workspace above {}; crates can only be built from a checkout of cairn",
        dir.display()
    )]
    NoWorkspace { dir: PathBuf },
    #[error("cannot run cargo to build crate {package}; is the Rust toolchain installed?")]
    Spawn {
        package: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cargo failed to build {package} for {target} ({status}); see its output above (is the target installed? `rustup target add {target}`)"
    )]
    Failed {
        package: String,
        target: String,
        status: std::process::ExitStatus,
    },
    #[error("cargo built {package} but {} is missing; check `bin: {bin}` in build.yml", path.display())]
    NoBinary {
        package: String,
        bin: String,
        path: PathBuf,
    },
}

impl Classify for CrateError {
    fn class(&self) -> ErrorClass {
        match self {
            CrateError::NoWorkspace { .. } | CrateError::NoBinary { .. } => ErrorClass::User,
            _ => ErrorClass::Environment,
        }
    }
}

/// The nearest folder at or above `dir` whose Cargo.toml has `[workspace]`.
pub fn workspace_root(dir: &Path) -> Result<PathBuf, CrateError> {
    let start = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    start
        .ancestors()
        .find(|d| {
            std::fs::read_to_string(d.join("Cargo.toml"))
                .is_ok_and(|t| t.lines().any(|l| l.trim() == "[workspace]"))
        })
        .map(Path::to_path_buf)
        .ok_or(CrateError::NoWorkspace { dir: start })
}

/// Builds one crate binary and returns where cargo put it.
pub fn build(root: &Path, spec: &CrateSpec, arch: Arch) -> Result<PathBuf, CrateError> {
    let target = arch.rust_target();
    let remap = format!("--remap-path-prefix={}=/cairn", root.display());
    let flags_var = format!(
        "CARGO_TARGET_{}_RUSTFLAGS",
        target.to_uppercase().replace('-', "_")
    );
    let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(["build", "--release", "--locked", "--target", target])
        .args(["-p", &spec.package, "--bin", &spec.bin])
        .current_dir(root)
        .env(flags_var, remap)
        // cargo's own output goes to our stderr; stdout stays for the result line.
        .stdout(Stdio::null())
        .status()
        .map_err(|source| CrateError::Spawn {
            package: spec.package.clone(),
            source,
        })?;
    if !status.success() {
        return Err(CrateError::Failed {
            package: spec.package.clone(),
            target: target.to_string(),
            status,
        });
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"));
    let path = target_dir.join(target).join("release").join(&spec.bin);
    if !path.is_file() {
        return Err(CrateError::NoBinary {
            package: spec.package.clone(),
            bin: spec.bin.clone(),
            path,
        });
    }
    Ok(path)
}
