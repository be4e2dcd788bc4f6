//! A suite's signed index (`InRelease`): fetched, verified with Debian's
//! `gpgv` against the Debian archive keyrings, and parsed.
//!
//! Why gpgv and not a Rust OpenPGP crate: gpgv is the verifier apt itself
//! uses, it is tiny, and it ships in every Debian (and most derived)
//! installations together with the keyrings it checks against. The pure-Rust
//! options either pull in a large dependency tree (sequoia, which also
//! defaults to C crypto backends) or would make cairn the only user of its
//! signature-policy decisions (which hash and key algorithms to accept). The
//! verified text is taken from gpgv's own output, never from the downloaded
//! file, so nothing unsigned around the signature can slip in.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::DebianError;
use super::deb822;
use super::http::Http;
use super::sources::Archive;

/// Where Debian installs its archive keyrings.
pub const KEYRING_DIR: &str = "/usr/share/keyrings";
/// An InRelease file is a few hundred KiB; refuse anything absurd.
const MAX_INRELEASE: u64 = 32 << 20;

/// A file listed in a Release file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    pub size: u64,
    pub sha256: String,
}

/// The verified content of one suite's InRelease.
#[derive(Debug, Clone)]
pub struct Release {
    /// The archive's base URL and the suite as configured.
    pub archive: String,
    pub suite: String,
    pub components: Vec<String>,
    pub architectures: Vec<String>,
    pub acquire_by_hash: bool,
    /// Path below `dists/<suite>/` -> size and sha256.
    pub files: BTreeMap<String, IndexFile>,
}

impl Release {
    /// `<archive>/dists/<suite>/<path>`.
    pub fn url(&self, path: &str) -> String {
        format!("{}/dists/{}/{}", self.archive, self.suite, path)
    }

    /// Downloads, verifies and parses `dists/<suite>/InRelease`.
    pub fn fetch(http: &Http, archive: &Archive, suite: &str) -> Result<Release, DebianError> {
        let url = format!("{}/dists/{suite}/InRelease", archive.uri);
        let signed = http
            .get(&url, MAX_INRELEASE)
            .map_err(|e| e.into_error(&url))?;
        let text = verify(&url, &signed, &keyrings()?)?;
        let release = parse(&url, &archive.uri, suite, &text)?;
        tracing::debug!("verified {url}");
        Ok(release)
    }
}

/// The Debian archive keyrings installed on this host.
pub fn keyrings() -> Result<Vec<PathBuf>, DebianError> {
    let none = || DebianError::NoKeyring {
        dir: KEYRING_DIR.into(),
    };
    let mut found: Vec<PathBuf> = std::fs::read_dir(KEYRING_DIR)
        .map_err(|_| none())?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            // The removed-keys keyring lists keys that must no longer be trusted.
            name.starts_with("debian-archive-")
                && name.ends_with(".gpg")
                && !name.contains("removed")
        })
        .collect();
    found.sort();
    if found.is_empty() {
        return Err(none());
    }
    Ok(found)
}

/// Checks the clearsigned `signed` with gpgv and returns the signed text.
/// At least one good signature by a key in `keyrings` is required and no
/// bad one is tolerated.
pub fn verify(url: &str, signed: &[u8], keyrings: &[PathBuf]) -> Result<String, DebianError> {
    let tmp = tempfile::tempdir().map_err(|source| DebianError::Gpgv { source })?;
    let input = tmp.path().join("InRelease");
    let output = tmp.path().join("Release");
    std::fs::write(&input, signed).map_err(|source| DebianError::Gpgv { source })?;
    let mut cmd = Command::new("gpgv");
    cmd.arg("--status-fd").arg("1");
    for k in keyrings {
        cmd.arg("--keyring").arg(k);
    }
    cmd.arg("--output").arg(&output).arg(&input);
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|source| DebianError::Gpgv { source })?;
    let status = String::from_utf8_lossy(&out.stdout);
    let good = status.lines().any(|l| l.starts_with("[GNUPG:] VALIDSIG "));
    let bad = status.lines().find(|l| {
        ["BADSIG", "EXPKEYSIG", "REVKEYSIG", "EXPSIG"]
            .iter()
            .any(|k| l.starts_with(&format!("[GNUPG:] {k} ")))
    });
    if !good || bad.is_some() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let detail = stderr
            .lines()
            .rfind(|l| !l.trim().is_empty())
            .unwrap_or("no valid signature")
            .trim()
            .to_string();
        return Err(DebianError::BadSignature {
            url: url.to_string(),
            detail,
        });
    }
    read_text(url, &output)
}

fn read_text(url: &str, path: &Path) -> Result<String, DebianError> {
    let bytes = std::fs::read(path).map_err(|source| DebianError::Gpgv { source })?;
    String::from_utf8(bytes).map_err(|_| DebianError::BadRelease {
        url: url.to_string(),
        reason: "it is not UTF-8 text".into(),
    })
}

/// Parses a verified Release text; the suite asked for must be the one the
/// file describes, so a validly signed index of another suite is refused.
pub fn parse(url: &str, archive: &str, suite: &str, text: &str) -> Result<Release, DebianError> {
    let bad = |reason: String| DebianError::BadRelease {
        url: url.to_string(),
        reason,
    };
    let paras = deb822::parse(text).map_err(bad)?;
    let para = paras.first().ok_or_else(|| bad("it is empty".into()))?;
    let names: Vec<&str> = ["Suite", "Codename"]
        .iter()
        .filter_map(|f| para.get(f))
        .collect();
    if !names.contains(&suite) {
        return Err(bad(format!(
            "it describes suite {} but {suite} was requested",
            names.join("/")
        )));
    }
    let mut files = BTreeMap::new();
    for line in para.lines("SHA256") {
        let mut parts = line.split_whitespace();
        let (Some(sha), Some(size), Some(path), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(format!("bad SHA256 line {line:?}")));
        };
        let size = size
            .parse()
            .map_err(|_| bad(format!("bad size in SHA256 line {line:?}")))?;
        if sha.len() != 64 || !sha.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(format!("bad sha256 in line {line:?}")));
        }
        let file = IndexFile {
            size,
            sha256: sha.to_ascii_lowercase(),
        };
        files.insert(path.to_string(), file);
    }
    if files.is_empty() {
        return Err(bad("it lists no SHA256 checksums".into()));
    }
    let list = |f: &str| -> Vec<String> {
        para.get(f)
            .unwrap_or("")
            .split_whitespace()
            .map(|c| c.rsplit('/').next().unwrap_or(c).to_string())
            .collect()
    };
    if let Some(until) = para.get("Valid-Until") {
        warn_if_expired(url, until);
    }
    Ok(Release {
        archive: archive.to_string(),
        suite: suite.to_string(),
        components: list("Components"),
        architectures: list("Architectures"),
        acquire_by_hash: para.get("Acquire-By-Hash") == Some("yes"),
        files,
    })
}

/// apt refuses an expired index; cairn warns, because locks pin every .deb
/// by hash anyway and snapshot mirrors serve old, expired indexes on purpose.
fn warn_if_expired(url: &str, until: &str) {
    let Some(until) = super::date::parse_rfc2822(until) else {
        tracing::warn!("{url}: cannot read Valid-Until {until:?}");
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    if until < now {
        crate::ui::status(format!(
            "warning: {url} expired {} hours ago; the mirror may be stale",
            (now - until) / 3600
        ));
    }
}

#[cfg(test)]
mod tests;
