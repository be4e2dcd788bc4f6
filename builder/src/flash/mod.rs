//! `cairn flash`: a raw disk image onto an SD card, a USB stick or a disk,
//! safely. [`prepare`] checks everything before a byte is written — the
//! image is a raw disk, the target a block device that nothing mounts, that
//! does not hold the running system and that is large enough — and gives a
//! [`Plan`], which has no other constructor. [`Plan::run`] writes in the
//! order of `order.rs` (a stopped flash never looks like a good disk) and
//! reads everything back past the page cache (`verify.rs`).

mod confirm;
mod error;
mod identity;
mod image;
mod mounts;
mod order;
mod sysfs;
mod target;
mod verify;
mod write;

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

pub use error::{FlashError, Left};
pub use image::{Image, Table};
pub use order::{MIB, Op, Step};
pub use target::{Host, Kind, Target, inspect as inspect_target};
pub use verify::ReadBack;

use crate::ui;

/// What to write where.
#[derive(Debug, Clone)]
pub struct Request {
    pub image: PathBuf,
    pub target: PathBuf,
    /// Accept a target that is not a block device (a regular file, created
    /// or extended as needed, or a character device).
    pub force: bool,
}

/// A flash whose every check passed; only [`prepare`] makes one.
#[derive(Debug)]
pub struct Plan {
    image: Image,
    target: Target,
    steps: Vec<Step>,
}

/// A finished, verified flash.
#[derive(Debug, Clone)]
pub struct Flashed {
    pub bytes: u64,
    pub sha256: String,
    pub read_back: ReadBack,
}

/// Checks the image and the target and plans the writes; writes nothing.
pub fn prepare(request: &Request, host: &Host) -> Result<Plan, FlashError> {
    let image = Image::open(&request.image)?;
    let target = target::inspect(&request.target, request.force, host)?;
    if target.id == Some(image.id) {
        return Err(FlashError::SameFile {
            image: request.image.clone(),
            target: request.target.clone(),
        });
    }
    let target_len = match target.kind {
        Kind::Block { .. } => {
            let size = target.size.unwrap_or(0);
            if size < image.len {
                return Err(FlashError::TooSmall {
                    path: target.path.clone(),
                    size,
                    needed: image.len,
                });
            }
            Some(size)
        }
        Kind::File => target.size,
        Kind::New | Kind::Char => None,
    };
    let steps = order::order(image.len, target_len);
    Ok(Plan {
        image,
        target,
        steps,
    })
}

impl Plan {
    pub fn image(&self) -> &Image {
        &self.image
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The image and the target, one line each, and a note when the
    /// target is a fixed disk rather than a card or stick.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "image   {}: {}, {}\ntarget  {}",
            self.image.path.display(),
            human(self.image.len),
            self.image.table.name(),
            self.target.describe()
        );
        let loop_device = self
            .target
            .model
            .as_deref()
            .is_some_and(|m| m.starts_with("loop "));
        if matches!(self.target.kind, Kind::Block { .. }) && !self.target.removable && !loop_device
        {
            out.push_str("\nnote    not a removable device: make sure it is the disk you mean");
        }
        out
    }

    /// What was checked, for the dry run.
    fn checks(&self) -> String {
        let target = match &self.target.kind {
            Kind::Block { .. } => {
                "the target is a block device that nothing mounts or holds, not the disk of \
                 the running system's root, and large enough"
            }
            Kind::File => {
                "the target is a regular file (--force): extended as needed, never truncated"
            }
            Kind::New => {
                "the target does not exist (--force): it will be created as a regular file"
            }
            Kind::Char => "the target is a character device (--force): its size is unknown",
        };
        format!("the image is a raw {}; {target}", self.image.table.name())
    }

    /// The dry run's report: the image with its sha256, the target, what
    /// was checked and every write in order.
    pub fn dry_run(&self) -> Result<String, FlashError> {
        let sha256 = self.image.sha256()?;
        let mut out = format!(
            "dry run: nothing is written\n{}\nsha256  {sha256} ({} bytes)\nchecked {}\nwrites, in order:\n",
            self.summary(),
            self.image.len,
            self.checks(),
        );
        for (n, step) in self.steps.iter().enumerate() {
            out.push_str(&format!("  {}. {}\n", n + 1, step.describe()));
        }
        out.push_str(&format!(
            "then read bytes 0..{} back past the page cache and compare them with the image",
            self.image.len
        ));
        Ok(out)
    }

    /// Asks on the terminal unless `yes`; refuses when there is none.
    pub fn confirm(&self, yes: bool) -> Result<(), FlashError> {
        if yes {
            return Ok(());
        }
        confirm::on_terminal(&self.summary(), &self.target.path)
    }

    /// Writes and verifies. SIGINT and SIGTERM stop it between chunks.
    pub fn run(self) -> Result<Flashed, FlashError> {
        let deferred = crate::cleanup::defer();
        self.run_until(&|| deferred.signal().is_some())
    }

    /// Writes and verifies, stopping when `stop` says so between chunks.
    pub fn run_until(self, stop: &dyn Fn() -> bool) -> Result<Flashed, FlashError> {
        let file = self.open_for_writing()?;
        let path = &self.target.path;
        let ends = write::Ends {
            image: &self.image,
            target: &file,
            path,
        };
        let total = self.steps.iter().map(Step::bytes).sum();
        let label = format!(
            "writing {} to {}",
            self.image.path.display(),
            path.display()
        );
        let bar = ui::Step::bytes(label, Some(total));
        match write::write(&self.steps, &ends, &bar, stop) {
            Ok(()) => bar.finish("done"),
            Err(e) => {
                bar.abandon();
                return Err(e);
            }
        }
        let bar = ui::Step::bytes(
            format!("verifying {}", path.display()),
            Some(self.image.len),
        );
        match verify::verify(&self.image, &file, path, &bar, stop) {
            Ok((sha256, read_back)) => {
                bar.finish("done");
                tracing::info!("{}: {}", path.display(), read_back.describe());
                Ok(Flashed {
                    bytes: self.image.len,
                    sha256,
                    read_back,
                })
            }
            Err(e) => {
                bar.abandon();
                Err(e)
            }
        }
    }

    /// Opens the target read-write: a block device exclusively (the kernel
    /// refuses while anything mounts it) and still the device checked and
    /// large enough; a regular file created when missing, never truncated.
    fn open_for_writing(&self) -> Result<File, FlashError> {
        let path = &self.target.path;
        let open_err = |source| FlashError::TargetOpen {
            path: path.clone(),
            source,
        };
        match &self.target.kind {
            Kind::Block { dev, .. } => {
                let flags = OFlags::RDWR | OFlags::EXCL | OFlags::CLOEXEC;
                let mut file = match rustix::fs::open(path, flags, Mode::empty()) {
                    Ok(fd) => File::from(fd),
                    Err(Errno::BUSY) => {
                        return Err(FlashError::Busy {
                            path: path.clone(),
                            source: Errno::BUSY.into(),
                        });
                    }
                    Err(e) => return Err(open_err(e.into())),
                };
                let rdev = file.metadata().map_err(open_err)?.rdev();
                if (rustix::fs::major(rdev), rustix::fs::minor(rdev)) != (dev.major, dev.minor) {
                    return Err(FlashError::Changed { path: path.clone() });
                }
                let size = file.seek(SeekFrom::End(0)).map_err(open_err)?;
                if size < self.image.len {
                    return Err(FlashError::TooSmall {
                        path: path.clone(),
                        size,
                        needed: self.image.len,
                    });
                }
                Ok(file)
            }
            Kind::File | Kind::New => File::options()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(path)
                .map_err(open_err),
            Kind::Char => File::options()
                .read(true)
                .write(true)
                .open(path)
                .map_err(open_err),
        }
    }
}

/// A size for people: "31.9 GB (29.7 GiB)", as cards are sold and as
/// tools count.
pub fn human(bytes: u64) -> String {
    const UNITS: [(&str, &str); 5] = [
        ("kB", "KiB"),
        ("MB", "MiB"),
        ("GB", "GiB"),
        ("TB", "TiB"),
        ("PB", "PiB"),
    ];
    if bytes < 1000 {
        return format!("{bytes} bytes");
    }
    let mut i = 0;
    while i + 1 < UNITS.len() && bytes as f64 >= 1000f64.powi(i as i32 + 2) {
        i += 1;
    }
    let exp = i as i32 + 1;
    format!(
        "{:.1} {} ({:.1} {})",
        bytes as f64 / 1000f64.powi(exp),
        UNITS[i].0,
        bytes as f64 / 1024f64.powi(exp),
        UNITS[i].1
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_given_in_both_units() {
        assert_eq!(human(512), "512 bytes");
        assert_eq!(human(4 * MIB), "4.2 MB (4.0 MiB)");
        assert_eq!(human(31_914_983_424), "31.9 GB (29.7 GiB)");
    }
}
