//! Kernel configuration: the options cairn needs (`kernel-configs/required.txt`),
//! a .config parser, and the check behind `cairn kernel check`, which reads the
//! .config of a kernel package (`/config` in the image) or a file.
//!
//! ```ignore
//! let list = RequiredList::builtin()?;
//! let report = check(&KernelConfig::parse(&text), &list, "arm64");
//! print!("{}", report.table());
//! report.result()?; // KernelError::Missing names each failing option
//! ```

mod dotconfig;
mod image;
mod required;
mod verdict;

use std::io::Read;
use std::path::PathBuf;

pub use dotconfig::{KernelConfig, Setting};
pub use image::read_config;
pub use required::{ARCHS, Feature, Need, REQUIRED_TXT, RequiredList, Requirement};
pub use verdict::{Outcome, Report, State, Verdict, check};

use crate::exit::{Classify, ErrorClass};
use crate::oci::{Digest, RegistryError, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum KernelError {
    #[error("cannot read kernel config {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{} has no CONFIG_ lines: give a kernel .config (e.g. /boot/config-$(uname -r) or /proc/config.gz)",
        path.display()
    )]
    NotAConfig { path: PathBuf },
    #[error(
        "cannot use kernel package {image} for linux/{arch} from the local store (build it with `cairn pkg build pkg/kernel` or fetch it with `cairn pull`)"
    )]
    Resolve {
        image: String,
        arch: String,
        #[source]
        source: Box<RegistryError>,
    },
    #[error("cannot read kernel package {image} from the local store")]
    Store {
        image: String,
        #[source]
        source: StoreError,
    },
    #[error("kernel package {image}: the platform entry is not an image manifest")]
    NotAnImage { image: String },
    #[error("cannot read layer {layer} of kernel package {image}")]
    Layer {
        image: String,
        layer: Digest,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{image} has no /config (a UTF-8 kernel .config at the image root): is it a kernel package? Or check a file with --config"
    )]
    NoConfig { image: String },
    #[error("the kernel lacks {} required option(s) for {arch}: {}", missing.len(), missing.join(", "))]
    Missing { arch: String, missing: Vec<String> },
    #[error("kernel-configs/required.txt line {line}: {reason}")]
    RequiredList { line: usize, reason: String },
}

impl Classify for KernelError {
    fn class(&self) -> ErrorClass {
        match self {
            KernelError::Resolve { source, .. } => source.class(),
            KernelError::Store { source, .. } => source.class(),
            KernelError::Layer { .. } => ErrorClass::Environment,
            // The list is compiled in: a bad line is a broken build.
            KernelError::RequiredList { .. } => ErrorClass::Environment,
            KernelError::Read { .. }
            | KernelError::NotAConfig { .. }
            | KernelError::NotAnImage { .. }
            | KernelError::NoConfig { .. }
            | KernelError::Missing { .. } => ErrorClass::User,
        }
    }
}

/// Parses the .config in `path`, gzip-compressed or not (`/proc/config.gz`).
pub fn read_config_file(path: &std::path::Path) -> Result<KernelConfig, KernelError> {
    let read = || -> std::io::Result<String> {
        let bytes = std::fs::read(path)?;
        let mut text = String::new();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            flate2::read::MultiGzDecoder::new(&bytes[..]).read_to_string(&mut text)?;
        } else {
            text = String::from_utf8(bytes)
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        }
        Ok(text)
    };
    let text = read().map_err(|source| KernelError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let config = KernelConfig::parse(&text);
    if config.is_empty() {
        return Err(KernelError::NotAConfig {
            path: path.to_path_buf(),
        });
    }
    Ok(config)
}

impl Report {
    /// Ok when every required option is set as needed, else an error naming
    /// each failing option (`DM_VERITY (immutable-root)`).
    pub fn result(&self) -> Result<(), KernelError> {
        let missing: Vec<String> = self
            .failures()
            .map(|v| {
                let r = &v.requirement;
                let how = if v.state == State::Module {
                    " is a module, must be built in"
                } else {
                    ""
                };
                format!("{}{how} ({})", r.option, r.feature)
            })
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(KernelError::Missing {
                arch: self.arch.clone(),
                missing,
            })
        }
    }
}
