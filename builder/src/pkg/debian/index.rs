//! Fetching one `Packages` index, verified against its suite's InRelease
//! before a byte of it is parsed, and cached by sha256.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::DebianError;
use super::error::Mismatch;
use super::http::{Failure, Http};
use super::packages::{Package, parse_packages};
use super::release::{IndexFile, Release};

/// The packages of one suite, component and architecture.
#[derive(Debug, Clone)]
pub struct Index {
    pub suite: String,
    pub component: String,
    pub arch: String,
    pub packages: Vec<Package>,
}

/// Decompressed Packages files are tens of MiB; this bounds a hostile one.
const MAX_PACKAGES: u64 = 1 << 30;

/// `<cache>/cairn/debian`, where verified indexes are kept.
pub fn cache_dir() -> PathBuf {
    super::cache_home().join("debian")
}

/// Loads `<component>/binary-<arch>` of `release`, or `None` when the suite
/// does not carry that component or architecture.
pub fn load(
    http: &Http,
    release: &Release,
    component: &str,
    arch: &str,
    cache: &Path,
) -> Result<Option<Index>, DebianError> {
    if !release.components.iter().any(|c| c == component)
        || !release.architectures.iter().any(|a| a == arch)
    {
        return Ok(None);
    }
    let dir = format!("{component}/binary-{arch}");
    let plain_path = format!("{dir}/Packages");
    let xz_path = format!("{dir}/Packages.xz");
    let Some(xz) = release.files.get(&xz_path) else {
        return Err(DebianError::BadRelease {
            url: release.url("InRelease"),
            reason: format!("it lists no {xz_path}"),
        });
    };
    let plain = release.files.get(&plain_path);
    let url = release.url(&xz_path);
    let cached = plain.map(|p| cache.join(format!("{}.Packages", p.sha256)));
    let text = match cached.as_deref().and_then(|c| read_cached(c, plain?)) {
        Some(text) => text,
        None => {
            crate::ui::status(format!("fetching {url}"));
            let text = download(http, release, &dir, &url, xz, plain)?;
            if let Some(c) = &cached {
                store(cache, c, &text);
            }
            text
        }
    };
    let text = String::from_utf8(text).map_err(|_| DebianError::BadIndex {
        url: url.clone(),
        reason: "it is not UTF-8 text".into(),
    })?;
    let packages = parse_packages(&text).map_err(|reason| DebianError::BadIndex {
        url: url.clone(),
        reason,
    })?;
    Ok(Some(Index {
        suite: release.suite.clone(),
        component: component.to_string(),
        arch: arch.to_string(),
        packages,
    }))
}

/// The cached text if its sha256 is still the one InRelease lists.
fn read_cached(path: &Path, want: &IndexFile) -> Option<Vec<u8>> {
    let bytes = std::fs::read(path).ok()?;
    if bytes.len() as u64 == want.size && sha256_hex(&bytes) == want.sha256 {
        tracing::debug!("index cache hit {}", path.display());
        return Some(bytes);
    }
    tracing::warn!(
        "index cache entry {} is damaged; fetching again",
        path.display()
    );
    let _ = std::fs::remove_file(path);
    None
}

fn store(dir: &Path, path: &Path, bytes: &[u8]) {
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        tmp.write_all(bytes)?;
        tmp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    // The cache only saves time: a failure to fill it is not worth failing for.
    if let Err(e) = write() {
        tracing::warn!("cannot cache {}: {e}", path.display());
    }
    prune(dir);
}

/// Indexes change daily; entries written more than this long ago are
/// dropped so the cache does not grow without bound (a dropped entry that is
/// still current is simply fetched again).
const KEEP: std::time::Duration = std::time::Duration::from_secs(14 * 86_400);

fn prune(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > KEEP);
        if old && path.extension().is_some_and(|e| e == "Packages") {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Downloads Packages.xz (by hash when the archive offers it, so a mirror
/// mid-sync cannot hand out a newer file than InRelease describes), checks
/// it, decompresses it and checks the result.
fn download(
    http: &Http,
    release: &Release,
    dir: &str,
    url: &str,
    xz: &IndexFile,
    plain: Option<&IndexFile>,
) -> Result<Vec<u8>, DebianError> {
    let by_hash = release.url(&format!("{dir}/by-hash/SHA256/{}", xz.sha256));
    let compressed = match release.acquire_by_hash {
        true => match http.get(&by_hash, xz.size) {
            Err(Failure::Missing(_)) => http.get(url, xz.size),
            other => other,
        },
        false => http.get(url, xz.size),
    }
    .map_err(|e| e.into_error(url))?;
    check(url, &compressed, xz)?;
    let limit = plain.map_or(MAX_PACKAGES, |p| p.size);
    let mut text = Vec::new();
    lzma_rust2::XzReader::new(compressed.as_slice(), true)
        .take(limit + 1)
        .read_to_end(&mut text)
        .map_err(|e| DebianError::BadIndex {
            url: url.to_string(),
            reason: format!("it does not decompress: {e}"),
        })?;
    if let Some(p) = plain {
        check(&url.replace(".xz", " (decompressed)"), &text, p)?;
    }
    Ok(text)
}

fn check(url: &str, bytes: &[u8], want: &IndexFile) -> Result<(), DebianError> {
    let actual = sha256_hex(bytes);
    if bytes.len() as u64 != want.size || actual != want.sha256 {
        return Err(DebianError::IndexMismatch {
            url: url.to_string(),
            found: Box::new(Mismatch {
                expected_sha256: want.sha256.clone(),
                expected_size: want.size,
                actual_sha256: actual,
                actual_size: bytes.len() as u64,
            }),
        });
    }
    Ok(())
}

pub(super) fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
