//! Errors of the Debian side of `cairn pkg`: sources, index verification,
//! resolution, the lock file and downloads.

use std::path::PathBuf;

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum DebianError {
    #[error(
        "no Debian archive found: set CAIRN_DEBIAN_MIRROR to a mirror's base URL (like http://HOST/debian) or add a bookworm entry to the host's apt sources ({searched})"
    )]
    NoSources { searched: String },
    #[error("cannot read apt sources file {}", path.display())]
    SourcesRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("apt sources file {} is malformed: {reason}", path.display())]
    SourcesSyntax { path: PathBuf, reason: String },
    #[error("{var} is not an http:// or https:// URL: {value:?}")]
    BadMirror { var: &'static str, value: String },
    #[error("could not download {url}; check the network and the mirror, then try again")]
    Download {
        url: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    #[error("{url} is not served (HTTP {status})")]
    HttpStatus { url: String, status: u16 },
    #[error(
        "cannot run gpgv to verify Debian's signatures: install Debian's gpgv and debian-archive-keyring (scripts/install-deps does)"
    )]
    Gpgv {
        #[source]
        source: std::io::Error,
    },
    #[error(
        "no Debian archive keyring in {dir}: install debian-archive-keyring (scripts/install-deps does)"
    )]
    NoKeyring { dir: String },
    #[error(
        "the signature of {url} does not verify against the Debian archive keyring; the index was not used (gpgv said: {detail})"
    )]
    BadSignature { url: String, detail: String },
    #[error("signed index {url} is malformed: {reason}")]
    BadRelease { url: String, reason: String },
    #[error(
        "{url} does not match the signed index ({found}); the mirror may be syncing, try again later"
    )]
    IndexMismatch { url: String, found: Box<Mismatch> },
    #[error("index {url} is malformed: {reason}")]
    BadIndex { url: String, reason: String },
    #[error(
        "component {component} is in none of the suites {suites}; check the components requested"
    )]
    NoComponent { component: String, suites: String },
    #[error("package {name} does not exist for {arch}{hint}")]
    NotFound {
        name: String,
        arch: String,
        hint: String,
    },
    /// `package` is `name version (arch)` of the package that depends.
    #[error(
        "{package} depends on {dependency}, which no package satisfies{detail}; add a satisfying package to the list or exclude the one that depends"
    )]
    Unsatisfiable {
        package: String,
        dependency: String,
        detail: String,
    },
    /// `package` is `name version (arch)`.
    #[error("package {package} has a malformed {field} field: {reason}")]
    BadField {
        package: String,
        field: &'static str,
        reason: String,
    },
    #[error("cannot read lock file {}", path.display())]
    LockRead {
        path: PathBuf,
        #[source]
        source: Box<crate::config::LoadError>,
    },
    #[error("lock file {} is inconsistent: {reason}; run `cairn pkg lock` again", path.display())]
    LockInvalid { path: PathBuf, reason: String },
    #[error("cannot write {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot use cache directory {}", path.display())]
    Cache {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// `pinned` is `name version (arch)`.
    #[error("pinned {pinned} is no longer served by {mirror}; run `{relock}` to re-pin")]
    Gone {
        pinned: String,
        mirror: String,
        relock: String,
    },
    /// `package` is the name and version of the pinned package.
    #[error(
        "no configured Debian archive serves suite {suite} (needed for {package}); check CAIRN_DEBIAN_MIRROR or the apt sources"
    )]
    NoArchiveForSuite { suite: String, package: String },
    #[error(
        "cached package {} was changed: its sha256 is {actual}, the lock pins {expected}; it was removed, so the next run downloads it again",
        path.display()
    )]
    Tampered {
        path: PathBuf,
        expected: String,
        actual: String,
    },
    #[error(
        "{url} does not match the lock ({found}); it was not cached. The mirror serves different content than was pinned: run `cairn pkg lock` again if that is expected"
    )]
    DebMismatch { url: String, found: Box<Mismatch> },
}

/// What was expected and what arrived, for the mismatch errors.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub expected_sha256: String,
    pub expected_size: u64,
    pub actual_sha256: String,
    pub actual_size: u64,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "expected {} bytes with sha256 {}, got {} bytes with sha256 {}",
            self.expected_size, self.expected_sha256, self.actual_size, self.actual_sha256
        )
    }
}

impl Classify for DebianError {
    fn class(&self) -> ErrorClass {
        use DebianError::*;
        match self {
            SourcesRead { .. }
            | Download { .. }
            | HttpStatus { .. }
            | Gpgv { .. }
            | NoKeyring { .. }
            | Write { .. }
            | Cache { .. }
            | IndexMismatch { .. } => ErrorClass::Environment,
            _ => ErrorClass::User,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_error_stays_small_enough_to_return_by_value() {
        assert!(std::mem::size_of::<super::DebianError>() <= 80);
    }
}
