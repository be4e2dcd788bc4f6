//! The package's own description, from `control.tar.*`.

use std::io::Read;
use std::path::Path;

use super::DebError;
use super::entries::with_member;
use super::path::normalize;

/// The identity fields of a package's `control` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ControlInfo {
    pub package: String,
    pub version: String,
    pub architecture: String,
}

/// Control files are a few KiB; a larger one is not a real package.
const MAX_CONTROL: u64 = 1 << 20;

/// Reads Package, Version and Architecture from the package's control file.
pub fn control(deb: &Path) -> Result<ControlInfo, DebError> {
    let mut text: Option<String> = None;
    with_member(deb, "control.tar", &mut |member, tarball| {
        let read_err = |source| DebError::Read {
            deb: deb.to_path_buf(),
            member: member.to_string(),
            source,
        };
        let mut archive = tar::Archive::new(tarball);
        for entry in archive.entries().map_err(read_err)? {
            let entry = entry.map_err(read_err)?;
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if normalize(&path).as_deref() == Some("control") {
                let mut s = String::new();
                entry
                    .take(MAX_CONTROL)
                    .read_to_string(&mut s)
                    .map_err(read_err)?;
                text = Some(s);
                return Ok(());
            }
        }
        Ok(())
    })?;
    let text = text.ok_or_else(|| DebError::Format {
        deb: deb.to_path_buf(),
        reason: "control.tar has no control file".into(),
    })?;
    let field = |name: &'static str| -> Result<String, DebError> {
        text.lines()
            .find_map(|line| {
                let (key, value) = line.split_once(':')?;
                key.eq_ignore_ascii_case(name)
                    .then(|| value.trim().to_string())
            })
            .filter(|v| !v.is_empty())
            .ok_or(DebError::Control {
                deb: deb.to_path_buf(),
                field: name,
            })
    };
    Ok(ControlInfo {
        package: field("Package")?,
        version: field("Version")?,
        architecture: field("Architecture")?,
    })
}
