//! Where the Debian archive is: `CAIRN_DEBIAN_MIRROR`, or the host's apt
//! sources. No mirror host is ever written into the repository; locks name
//! suites and pool paths only.

use std::path::{Path, PathBuf};

use super::DebianError;
use super::deb822;

/// The Debian release cairn packages are built from.
pub const RELEASE: &str = "bookworm";
const SUITES: [&str; 3] = ["bookworm", "bookworm-updates", "bookworm-security"];

/// One archive (a base URL such as `http://HOST/debian`) and the suites
/// fetched from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Archive {
    /// Without a trailing `/`.
    pub uri: String,
    pub suites: Vec<String>,
}

/// The Debian archives to use, in order of preference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sources {
    pub archives: Vec<Archive>,
}

impl Sources {
    /// `CAIRN_DEBIAN_MIRROR` (and `CAIRN_DEBIAN_SECURITY_MIRROR`) when set,
    /// else the Debian entries of `/etc/apt/sources.list{,.d}`.
    pub fn discover() -> Result<Sources, DebianError> {
        if let Some(mirror) = env("CAIRN_DEBIAN_MIRROR") {
            let security = env("CAIRN_DEBIAN_SECURITY_MIRROR");
            return Sources::from_mirror(&mirror, security.as_deref());
        }
        Sources::from_apt(Path::new("/etc/apt"))
    }

    /// A mirror for bookworm and bookworm-updates; the security suite comes
    /// from `security`, or else from `debian-security` beside the mirror.
    pub fn from_mirror(mirror: &str, security: Option<&str>) -> Result<Sources, DebianError> {
        let mirror = check_url("CAIRN_DEBIAN_MIRROR", mirror)?;
        let security = match security {
            Some(s) => check_url("CAIRN_DEBIAN_SECURITY_MIRROR", s)?,
            None => security_beside(&mirror),
        };
        Ok(Sources {
            archives: vec![
                Archive {
                    uri: mirror,
                    suites: vec![SUITES[0].into(), SUITES[1].into()],
                },
                Archive {
                    uri: security,
                    suites: vec![SUITES[2].into()],
                },
            ],
        })
    }

    /// Reads `<etc_apt>/sources.list` and `<etc_apt>/sources.list.d/*.list`
    /// and `*.sources`, keeping the binary entries for Debian's bookworm
    /// suites or signed by a Debian archive keyring.
    pub fn from_apt(etc_apt: &Path) -> Result<Sources, DebianError> {
        let mut files = vec![etc_apt.join("sources.list")];
        let dir = etc_apt.join("sources.list.d");
        if let Ok(list) = std::fs::read_dir(&dir) {
            let mut names: Vec<PathBuf> = list.filter_map(|e| e.ok().map(|e| e.path())).collect();
            names.sort();
            files.extend(names);
        }
        let mut entries = Vec::new();
        for path in files {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let deb822 = name.ends_with(".sources");
            if !(deb822 || name.ends_with(".list")) || name.starts_with('.') {
                continue;
            }
            let text = match std::fs::read_to_string(&path) {
                Ok(t) => t,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(source) => return Err(DebianError::SourcesRead { path, source }),
            };
            let syntax = |reason| DebianError::SourcesSyntax {
                path: path.clone(),
                reason,
            };
            if deb822 {
                entries.extend(parse_deb822(&text).map_err(syntax)?);
            } else {
                entries.extend(parse_one_line(&text));
            }
        }
        let mut sources = Sources {
            archives: Vec::new(),
        };
        for entry in entries.into_iter().filter(Entry::is_debian) {
            sources.add(&entry.uri, &entry.suites);
        }
        if sources.archives.is_empty() {
            return Err(DebianError::NoSources {
                searched: format!("searched {}", etc_apt.display()),
            });
        }
        Ok(sources)
    }

    fn add(&mut self, uri: &str, suites: &[String]) {
        let uri = uri.trim_end_matches('/').to_string();
        // A suite listed twice is fetched once, from its first archive.
        let fresh: Vec<String> = suites
            .iter()
            .filter(|s| !self.archives.iter().any(|a| a.suites.contains(s)))
            .cloned()
            .collect();
        if fresh.is_empty() {
            return;
        }
        match self.archives.iter_mut().find(|a| a.uri == uri) {
            Some(a) => a.suites.extend(fresh),
            None => self.archives.push(Archive { uri, suites: fresh }),
        }
    }

    /// The archive that serves `suite`.
    pub fn archive_for(&self, suite: &str) -> Option<&Archive> {
        self.archives
            .iter()
            .find(|a| a.suites.iter().any(|s| s == suite))
    }

    /// Every (archive, suite) pair, in preference order.
    pub fn suites(&self) -> impl Iterator<Item = (&Archive, &str)> {
        self.archives
            .iter()
            .flat_map(|a| a.suites.iter().map(move |s| (a, s.as_str())))
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn check_url(var: &'static str, value: &str) -> Result<String, DebianError> {
    let v = value.trim().trim_end_matches('/');
    let rest = v
        .strip_prefix("http://")
        .or_else(|| v.strip_prefix("https://"));
    match rest {
        Some(host) if !host.is_empty() && !host.starts_with('/') => Ok(v.to_string()),
        _ => Err(DebianError::BadMirror {
            var,
            value: value.to_string(),
        }),
    }
}

/// `http://h/debian` -> `http://h/debian-security`; any other path ->
/// `http://h/debian-security`, where Debian's mirrors keep it.
fn security_beside(mirror: &str) -> String {
    if let Some(base) = mirror.strip_suffix("/debian") {
        return format!("{base}/debian-security");
    }
    let scheme_end = mirror.find("://").map_or(0, |i| i + 3);
    let host_end = mirror[scheme_end..]
        .find('/')
        .map_or(mirror.len(), |i| i + scheme_end);
    format!("{}/debian-security", &mirror[..host_end])
}

#[derive(Debug)]
struct Entry {
    uri: String,
    suites: Vec<String>,
    signed_by: String,
}

impl Entry {
    fn is_debian(&self) -> bool {
        let known = self.suites.iter().any(|s| SUITES.contains(&s.as_str()));
        let keyring = self.signed_by.contains("debian-archive-");
        let remote = self.uri.starts_with("http://") || self.uri.starts_with("https://");
        remote && (known || keyring)
    }
}

fn parse_deb822(text: &str) -> Result<Vec<Entry>, String> {
    let mut out = Vec::new();
    for para in deb822::parse(text)? {
        let enabled = para
            .get("Enabled")
            .is_none_or(|v| !v.eq_ignore_ascii_case("no"));
        let types = para.get("Types").unwrap_or("");
        if !enabled || !types.split_whitespace().any(|t| t == "deb") {
            continue;
        }
        let suites: Vec<String> = words(para.get("Suites"))
            .filter(|s| !s.ends_with('/'))
            .collect();
        for uri in words(para.get("URIs")) {
            out.push(Entry {
                uri,
                suites: suites.clone(),
                signed_by: para.get("Signed-By").unwrap_or("").to_string(),
            });
        }
    }
    Ok(out)
}

fn words(v: Option<&str>) -> impl Iterator<Item = String> + '_ {
    v.unwrap_or("").split_whitespace().map(str::to_string)
}

/// `deb [opt=v ...] URI SUITE COMPONENT...`, one entry a line.
fn parse_one_line(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    for line in text.lines() {
        let line = line.split('#').next().unwrap_or("").trim();
        let Some(rest) = line
            .strip_prefix("deb ")
            .or_else(|| line.strip_prefix("deb\t"))
        else {
            continue;
        };
        let mut rest = rest.trim_start();
        let mut signed_by = String::new();
        if let Some(opts) = rest.strip_prefix('[') {
            let Some((opts, after)) = opts.split_once(']') else {
                continue;
            };
            for opt in opts.split_whitespace() {
                if let Some(v) = opt.strip_prefix("signed-by=") {
                    signed_by = v.to_string();
                }
            }
            rest = after.trim_start();
        }
        let mut parts = rest.split_whitespace();
        let (Some(uri), Some(suite)) = (parts.next(), parts.next()) else {
            continue;
        };
        if suite.ends_with('/') {
            continue;
        }
        out.push(Entry {
            uri: uri.to_string(),
            suites: vec![suite.to_string()],
            signed_by,
        });
    }
    out
}

#[cfg(test)]
mod tests;
