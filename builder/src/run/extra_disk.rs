//! `--disk FILE[,size=N][,format=raw|qcow2]` (LinuxKit's
//! `file=FILE,size=N,format=F` is read too): an extra disk for the guest,
//! created empty at that size when it does not exist, so a data disk
//! persists across boots as with `linuxkit run`.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::RunError;
use super::qemu::DiskFormat;
use crate::size::parse_size;

/// An extra disk, as parsed from one `--disk`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtraDisk {
    pub path: PathBuf,
    /// Bytes, when it is to be created if missing.
    pub size: Option<u64>,
    pub format: DiskFormat,
    /// Attached read-only (a kernel+squashfs root image).
    pub read_only: bool,
}

impl std::str::FromStr for ExtraDisk {
    type Err = RunError;

    fn from_str(spec: &str) -> Result<ExtraDisk, RunError> {
        let bad = |why: &str| RunError::BadDisk {
            spec: spec.to_string(),
            why: why.to_string(),
        };
        let mut path = None;
        let mut size = None;
        let mut format = None;
        for (i, part) in spec.split(',').enumerate() {
            match part.split_once('=') {
                Some(("file", v)) => path = Some(v),
                Some(("size", v)) => {
                    size = Some(parse_size(v).ok_or_else(|| {
                        bad("the size is not a number with an optional K, M, G or T")
                    })?)
                }
                Some(("format", "raw")) => format = Some(DiskFormat::Raw),
                Some(("format", "qcow2")) => format = Some(DiskFormat::Qcow2),
                Some(("format", _)) => return Err(bad("the format must be raw or qcow2")),
                Some((key, _)) => {
                    return Err(bad(&format!(
                        "unknown option `{key}`; use size= or format="
                    )));
                }
                None if i == 0 => path = Some(part),
                None => return Err(bad("options after the file are key=value")),
            }
        }
        let path = PathBuf::from(
            path.filter(|p| !p.is_empty())
                .ok_or_else(|| bad("it names no file"))?,
        );
        let format = format.unwrap_or(match path.extension().and_then(|e| e.to_str()) {
            Some("qcow2") => DiskFormat::Qcow2,
            _ => DiskFormat::Raw,
        });
        Ok(ExtraDisk {
            path,
            size,
            format,
            read_only: false,
        })
    }
}

impl ExtraDisk {
    /// Creates the disk when it is missing and a size was given; a missing
    /// disk without a size is an error. An existing disk is used as it is.
    pub fn ensure(&self) -> Result<(), RunError> {
        if self.path.exists() {
            return Ok(());
        }
        let Some(size) = self.size else {
            return Err(RunError::NoDisk {
                path: self.path.clone(),
            });
        };
        let dir = match self.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let fail = |source| RunError::CreateDisk {
            path: self.path.clone(),
            source,
        };
        let mut tmp = tempfile::Builder::new()
            .prefix(".cairn-disk-")
            .tempfile_in(dir)
            .map_err(fail)?;
        match self.format {
            DiskFormat::Raw => tmp.as_file().set_len(size).map_err(fail)?,
            DiskFormat::Qcow2 => {
                cairn_boot::qcow2::blank(size, tmp.as_file_mut())
                    .map_err(|e| fail(std::io::Error::other(e)))?;
                tmp.as_file_mut().flush().map_err(fail)?;
            }
        }
        tmp.persist_noclobber(&self.path)
            .map_err(|e| fail(e.error))?;
        crate::ui::status(format!(
            "created {} ({} MiB, {}, empty)",
            self.path.display(),
            size >> 20,
            self.format.name()
        ));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{DiskFormat, ExtraDisk};

    #[test]
    fn disk_specs_take_cairns_and_linuxkits_forms() {
        let d: ExtraDisk = "data.img,size=1G".parse().unwrap();
        assert_eq!(
            (d.path.to_str(), d.size, d.format),
            (Some("data.img"), Some(1 << 30), DiskFormat::Raw)
        );
        let d: ExtraDisk = "file=x.qcow2,size=2".parse().unwrap();
        assert_eq!((d.size, d.format), (Some(2 << 30), DiskFormat::Qcow2));
        let d: ExtraDisk = "x,format=qcow2".parse().unwrap();
        assert_eq!((d.size, d.format), (None, DiskFormat::Qcow2));
    }

    #[test]
    fn bad_disk_specs_say_what_is_wrong() {
        for (spec, why) in [
            ("x,size=lots", "the size is not a number"),
            ("x,format=vmdk", "raw or qcow2"),
            ("x,bus=sata", "unknown option `bus`"),
            (",size=1G", "names no file"),
        ] {
            let err = spec.parse::<ExtraDisk>().unwrap_err().to_string();
            assert!(err.contains(why), "{spec}: {err}");
        }
    }

    #[test]
    fn a_missing_disk_is_created_empty_and_an_existing_one_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let raw = dir.path().join("d.img");
        let d: ExtraDisk = format!("{},size=8M", raw.display()).parse().unwrap();
        d.ensure().unwrap();
        assert_eq!(std::fs::metadata(&raw).unwrap().len(), 8 << 20);
        std::fs::write(&raw, b"kept").unwrap();
        d.ensure().unwrap();
        assert_eq!(std::fs::read(&raw).unwrap(), b"kept");
        let q = dir.path().join("d.qcow2");
        let d: ExtraDisk = format!("{},size=1G", q.display()).parse().unwrap();
        d.ensure().unwrap();
        assert_eq!(&std::fs::read(&q).unwrap()[..4], b"QFI\xfb");
        let missing: ExtraDisk = dir
            .path()
            .join("none.img")
            .display()
            .to_string()
            .parse()
            .unwrap();
        assert!(missing.ensure().unwrap_err().to_string().contains("size="));
    }
}
