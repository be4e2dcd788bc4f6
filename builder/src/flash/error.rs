//! Everything `cairn flash` refuses or fails on. A refusal comes before a
//! single byte is written and says what to do; a failure while writing names
//! the device and the offset.

use std::io;
use std::path::PathBuf;

use crate::exit::{Classify, ErrorClass};

#[derive(Debug, thiserror::Error)]
pub enum FlashError {
    #[error("cannot open the image {path:?}")]
    ImageOpen {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the image {path:?} at byte {offset}")]
    ImageRead {
        path: PathBuf,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path:?} is a qcow2 image, not a raw disk; convert it with \
         `qemu-img convert -O raw {} IMAGE.raw`, or build a raw disk with `cairn build -f raw-efi`",
        .path.display()
    )]
    Qcow2 { path: PathBuf },
    #[error(
        "{path:?} is not a raw disk image (no 0x55AA boot signature at byte 510); \
         flash a NAME-efi.raw, NAME-bios.raw or NAME-rpi4.img that `cairn build` wrote"
    )]
    NotADisk { path: PathBuf },
    #[error("{image:?} and {target:?} are the same file or device; name the device to write to")]
    SameFile { image: PathBuf, target: PathBuf },
    #[error(
        "{path:?} does not exist; name a block device such as /dev/sdb (`lsblk` lists them), \
         or pass --force to create a regular file"
    )]
    TargetMissing {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path:?} is {kind}, not a block device; name a disk such as /dev/sdb \
         (`lsblk` lists them), or pass --force to write to it anyway"
    )]
    NotABlockDevice { path: PathBuf, kind: &'static str },
    #[error("{path:?} is a folder; name a block device such as /dev/sdb (`lsblk` lists them)")]
    Folder { path: PathBuf },
    #[error("cannot open {path:?}{}", open_hint(.source))]
    TargetOpen {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot inspect {path:?} (reading {what:?})")]
    Inspect {
        path: PathBuf,
        what: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path:?} is the disk that holds the running system's root file system ({disk}); \
         choose another device (`lsblk` lists them)"
    )]
    RootDisk { path: PathBuf, disk: String },
    #[error(
        "{path:?} is in use: {}; unmount it first (`umount DEVICE`, or eject it in the \
         file manager) and run cairn flash again",
        .uses.join(", ")
    )]
    InUse { path: PathBuf, uses: Vec<String> },
    #[error(
        "{path:?} is busy (another program or the kernel holds it open exclusively); \
         unmount its partitions and close what uses it"
    )]
    Busy {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error(
        "{path:?} is no longer the device that was checked (a card swapped?); \
         run cairn flash again"
    )]
    Changed { path: PathBuf },
    #[error(
        "{path:?} holds {size} bytes, {}, but the image needs {needed} bytes, {}; \
         use a larger card or disk",
        super::human(*.size),
        super::human(*.needed)
    )]
    TooSmall {
        path: PathBuf,
        size: u64,
        needed: u64,
    },
    #[error(
        "refusing to erase {path:?} without confirmation: stdin is not a terminal; \
         pass --yes to confirm (nothing was written)"
    )]
    NoTerminal { path: PathBuf },
    #[error("not confirmed; nothing was written to {path:?}")]
    NotConfirmed { path: PathBuf },
    #[error("cannot write to {path:?} at byte {offset} ({what}){}", hint(.source))]
    Write {
        path: PathBuf,
        offset: u64,
        what: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("cannot flush what was written to {path:?} to the device")]
    Sync {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read {path:?} back at byte {offset}")]
    ReadBack {
        path: PathBuf,
        offset: u64,
        #[source]
        source: io::Error,
    },
    #[error(
        "verification failed: {path:?} ends at byte {offset}, before the image's {needed} bytes"
    )]
    ShortRead {
        path: PathBuf,
        offset: u64,
        needed: u64,
    },
    #[error(
        "verification failed: {path:?} differs from the image at byte {offset}; \
         the card or disk may be failing or fake (its real size smaller than it reports)"
    )]
    Mismatch { path: PathBuf, offset: u64 },
    #[error("interrupted while {stage}: stopped at byte {offset} of {path:?}; {left}")]
    Interrupted {
        path: PathBuf,
        stage: &'static str,
        offset: u64,
        left: Left,
    },
}

fn open_hint(source: &io::Error) -> &'static str {
    if source.kind() == io::ErrorKind::PermissionDenied {
        "; run cairn flash as root (sudo) or as a member of the disk group"
    } else {
        ""
    }
}

/// What an interrupted flash leaves on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Left {
    /// Stopped before the first write.
    Untouched,
    /// The first MiB is zeroed; the image is partly written.
    HeadZeroed,
    /// Everything is written; the read-back was stopped.
    Unverified,
}

impl std::fmt::Display for Left {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Left::Untouched => "nothing was written to it",
            Left::HeadZeroed => {
                "its first MiB is zeroed, so it does not look like a bootable disk; flash it again"
            }
            Left::Unverified => {
                "the image was written completely but not verified; flash it again to be sure"
            }
        })
    }
}

/// What a failed write most likely means, for the two causes a user fixes.
fn hint(source: &io::Error) -> &'static str {
    if is_no_space(source) {
        "; the device is smaller than it claims or is not a disk"
    } else {
        ""
    }
}

fn is_no_space(source: &io::Error) -> bool {
    matches!(
        source.kind(),
        io::ErrorKind::StorageFull | io::ErrorKind::WriteZero
    )
}

impl Classify for FlashError {
    fn class(&self) -> ErrorClass {
        use FlashError::*;
        match self {
            ImageOpen { .. }
            | Qcow2 { .. }
            | NotADisk { .. }
            | SameFile { .. }
            | TargetMissing { .. }
            | NotABlockDevice { .. }
            | Folder { .. }
            | RootDisk { .. }
            | InUse { .. }
            | Busy { .. }
            | Changed { .. }
            | TooSmall { .. }
            | NoTerminal { .. }
            | NotConfirmed { .. }
            | ShortRead { .. }
            | Mismatch { .. }
            | Interrupted { .. } => ErrorClass::User,
            TargetOpen { source, .. } if source.kind() == io::ErrorKind::PermissionDenied => {
                ErrorClass::User
            }
            Write { source, .. } if is_no_space(source) => ErrorClass::User,
            TargetOpen { .. }
            | ImageRead { .. }
            | Inspect { .. }
            | Write { .. }
            | Sync { .. }
            | ReadBack { .. } => ErrorClass::Environment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_out_of_space_is_the_users_to_fix_and_an_io_error_is_the_hosts() {
        let write = |kind| FlashError::Write {
            path: "/dev/full".into(),
            offset: 0,
            what: "zeroing the first MiB",
            source: io::Error::from(kind),
        };
        assert_eq!(write(io::ErrorKind::StorageFull).class(), ErrorClass::User);
        assert_eq!(write(io::ErrorKind::Other).class(), ErrorClass::Environment);
        assert!(
            write(io::ErrorKind::StorageFull)
                .to_string()
                .contains("at byte 0")
        );
    }
}
