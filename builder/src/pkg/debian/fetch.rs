//! The .deb download cache: `<root>/<sha256>.deb`, filled in parallel, every
//! file checked against the lock both when it is downloaded and each time it
//! is used.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use sha2::{Digest, Sha256};

use super::error::Mismatch;
use super::http::{Failure, Http, retry};
use super::lock::LockedDeb;
use super::sources::Sources;
use super::{DebianError, parallel};

const PARALLEL: usize = 4;

/// A directory of .deb files named by their sha256.
#[derive(Debug, Clone)]
pub struct DebCache {
    root: PathBuf,
}

impl DebCache {
    /// `$XDG_CACHE_HOME/cairn/debs`, else `~/.cache/cairn/debs`.
    pub fn default_root() -> PathBuf {
        super::cache_home().join("debs")
    }

    /// Opens (creating it if needed) a cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<DebCache, DebianError> {
        let root = root.into();
        std::fs::create_dir_all(&root).map_err(|source| DebianError::Cache {
            path: root.clone(),
            source,
        })?;
        Ok(DebCache { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where `deb` is (or will be) cached.
    pub fn path_of(&self, deb: &LockedDeb) -> PathBuf {
        self.root.join(format!("{}.deb", deb.sha256))
    }
}

/// Makes every .deb of `debs` available in `cache`, downloading what is
/// missing, and returns their paths in the order of `debs`. A 404 names the
/// pinned package and suggests re-locking.
pub fn fetch(
    sources: &Sources,
    cache: &DebCache,
    debs: &[LockedDeb],
) -> Result<Vec<PathBuf>, DebianError> {
    fetch_for(sources, cache, debs, "cairn pkg lock pkg/<name>")
}

/// [`fetch`], with the exact command that re-pins the package (for example
/// `cairn pkg lock pkg/runc`) in the message when a .deb is gone.
pub fn fetch_for(
    sources: &Sources,
    cache: &DebCache,
    debs: &[LockedDeb],
    relock: &str,
) -> Result<Vec<PathBuf>, DebianError> {
    for d in debs {
        if d.sha256.len() != 64 || !d.sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(DebianError::LockInvalid {
                path: PathBuf::from("(lock)"),
                reason: format!("{} has a malformed sha256 {:?}", d.name, d.sha256),
            });
        }
    }
    // The same .deb (an `all` package pinned for two targets) is fetched once.
    let mut unique: Vec<&LockedDeb> = Vec::new();
    for d in debs {
        if !unique.iter().any(|u| u.sha256 == d.sha256) {
            unique.push(d);
        }
    }
    let http = Http::new()?;
    let bars = crate::ui::fancy().then(MultiProgress::new);
    if let Some(b) = &bars {
        b.set_draw_target(ProgressDrawTarget::stderr());
    }
    let failed = AtomicBool::new(false);
    let results = parallel::map(&unique, PARALLEL, |deb| {
        if failed.load(Ordering::Relaxed) {
            return None;
        }
        let r = one(&http, sources, cache, deb, relock, bars.as_ref());
        if r.is_err() {
            failed.store(true, Ordering::Relaxed);
        }
        Some(r)
    });
    if let Some(err) = results.into_iter().flatten().find_map(Result::err) {
        return Err(err);
    }
    Ok(debs.iter().map(|d| cache.path_of(d)).collect())
}

/// A cached file is re-hashed before use; a download is hashed as it streams.
fn one(
    http: &Http,
    sources: &Sources,
    cache: &DebCache,
    deb: &LockedDeb,
    relock: &str,
    bars: Option<&MultiProgress>,
) -> Result<(), DebianError> {
    let path = cache.path_of(deb);
    match std::fs::File::open(&path) {
        Ok(file) => return check_cached(&path, file, deb),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(DebianError::Cache { path, source }),
    }
    let archive =
        sources
            .archive_for(&deb.suite)
            .ok_or_else(|| DebianError::NoArchiveForSuite {
                suite: deb.suite.clone(),
                package: format!("{} {}", deb.name, deb.version),
            })?;
    let url = format!("{}/{}", archive.uri, deb.filename);
    let label = format!("{} {} ({})", deb.name, deb.version, deb.arch);
    let bar = bars.map(|m| {
        let bar = m.add(ProgressBar::new(deb.size));
        if let Ok(style) = ProgressStyle::with_template(
            "{msg:40!} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(label.clone());
        bar
    });
    let result = retry(&url, || download(http, &url, cache, deb, bar.as_ref()));
    if let Some(bar) = &bar {
        bar.finish_and_clear();
        if let Some(m) = bars {
            m.remove(bar);
        }
    }
    let tmp = match result {
        Ok(tmp) => tmp,
        Err(Failure::Missing(_)) => {
            return Err(DebianError::Gone {
                pinned: label,
                mirror: archive.uri.clone(),
                relock: relock.to_string(),
            });
        }
        Err(e) => return Err(e.into_error(&url)),
    };
    let (actual, size) = tmp.1;
    if actual != deb.sha256 || size != deb.size {
        return Err(DebianError::DebMismatch {
            url,
            found: Box::new(Mismatch {
                expected_sha256: deb.sha256.clone(),
                expected_size: deb.size,
                actual_sha256: actual,
                actual_size: size,
            }),
        });
    }
    tmp.0.persist(&path).map_err(|e| DebianError::Cache {
        path: path.clone(),
        source: e.error,
    })?;
    crate::ui::status(format!(
        "downloaded {label}, {} KiB",
        deb.size.div_ceil(1024)
    ));
    Ok(())
}

type Downloaded = (tempfile::NamedTempFile, (String, u64));

/// One attempt: streams the body into a temporary file beside the cache
/// entry, hashing as it goes, and stops early once it is longer than pinned.
fn download(
    http: &Http,
    url: &str,
    cache: &DebCache,
    deb: &LockedDeb,
    bar: Option<&ProgressBar>,
) -> Result<Downloaded, Failure> {
    let mut response = http.open(url)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".partial-")
        .tempfile_in(cache.root())
        .map_err(|e| Failure::Refused(format!("cannot write to the cache: {e}")))?;
    if let Some(bar) = bar {
        bar.set_position(0);
    }
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = match response.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        size += n as u64;
        hasher.update(&buf[..n]);
        tmp.write_all(&buf[..n])
            .map_err(|e| Failure::Refused(format!("cannot write to the cache: {e}")))?;
        if let Some(bar) = bar {
            bar.inc(n as u64);
        }
        // Longer than pinned cannot match; the caller reports the mismatch.
        if size > deb.size {
            break;
        }
    }
    Ok((tmp, (hex::encode(hasher.finalize()), size)))
}

fn check_cached(path: &Path, mut file: std::fs::File, deb: &LockedDeb) -> Result<(), DebianError> {
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|source| DebianError::Cache {
        path: path.to_path_buf(),
        source,
    })?;
    let actual = hex::encode(hasher.finalize());
    if actual == deb.sha256 {
        return Ok(());
    }
    // Removing it lets the next run download a good copy; the error still
    // stops this run, because a changed cache deserves a look.
    let _ = std::fs::remove_file(path);
    Err(DebianError::Tampered {
        path: path.to_path_buf(),
        expected: deb.sha256.clone(),
        actual,
    })
}
