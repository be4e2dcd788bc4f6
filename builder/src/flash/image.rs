//! The image to write: a raw disk (GPT or MBR, as `cairn build` writes
//! `NAME-efi.raw`, `NAME-bios.raw` and `NAME-rpi4.img`), never a qcow2 file
//! or anything without a boot signature.

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::FlashError;
use crate::ui;

/// How a disk image's partitions are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// A protective MBR and a GPT (UEFI and BIOS disks).
    Gpt,
    /// An MBR partition table only (Raspberry Pi cards).
    Mbr,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::Gpt => "GPT disk",
            Table::Mbr => "MBR disk",
        }
    }
}

/// Why the first bytes of a file are not a raw disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotRaw {
    Qcow2,
    NoSignature,
}

/// What the first 4 KiB (or fewer) of a file say it is.
pub fn classify(head: &[u8]) -> Result<Table, NotRaw> {
    if head.starts_with(b"QFI\xfb") {
        return Err(NotRaw::Qcow2);
    }
    if head.get(510..512) != Some(&[0x55, 0xAA][..]) {
        return Err(NotRaw::NoSignature);
    }
    let gpt_at = |sector: usize| head.get(sector..sector + 8) == Some(&b"EFI PART"[..]);
    Ok(if gpt_at(512) || gpt_at(4096) {
        Table::Gpt
    } else {
        Table::Mbr
    })
}

/// An image opened for reading, checked to be a raw disk.
#[derive(Debug)]
pub struct Image {
    pub path: PathBuf,
    pub len: u64,
    pub table: Table,
    pub(super) file: File,
    /// (device, inode) of the file, or for a block device its number.
    pub(super) id: (u64, u64),
}

impl Image {
    pub fn open(path: &Path) -> Result<Image, FlashError> {
        let open_err = |source| FlashError::ImageOpen {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(open_err)?;
        let meta = file.metadata().map_err(open_err)?;
        if meta.is_dir() {
            return Err(open_err(std::io::Error::from(
                std::io::ErrorKind::IsADirectory,
            )));
        }
        let id = if meta.file_type().is_file() {
            (meta.dev(), meta.ino())
        } else {
            (meta.rdev(), 0)
        };
        let len = file.seek(SeekFrom::End(0)).map_err(open_err)?;
        let mut head = vec![0u8; len.min(8192) as usize];
        read_at(&file, path, &mut head, 0)?;
        let table = classify(&head).map_err(|why| match why {
            NotRaw::Qcow2 => FlashError::Qcow2 {
                path: path.to_path_buf(),
            },
            NotRaw::NoSignature => FlashError::NotADisk {
                path: path.to_path_buf(),
            },
        })?;
        Ok(Image {
            path: path.to_path_buf(),
            len,
            table,
            file,
            id,
        })
    }

    /// Reads exactly `buf.len()` bytes at `offset`.
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<(), FlashError> {
        read_at(&self.file, &self.path, buf, offset)
    }

    /// The sha256 of the whole image, with a progress bar.
    pub fn sha256(&self) -> Result<String, FlashError> {
        let step = ui::Step::bytes(format!("hashing {}", self.path.display()), Some(self.len));
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; super::order::CHUNK];
        let mut offset = 0;
        while offset < self.len {
            let n = (self.len - offset).min(buf.len() as u64) as usize;
            if let Err(e) = self.read_at(&mut buf[..n], offset) {
                step.abandon();
                return Err(e);
            }
            hasher.update(&buf[..n]);
            step.inc(n as u64);
            offset += n as u64;
        }
        step.finish("done");
        Ok(hex::encode(hasher.finalize()))
    }
}

fn read_at(file: &File, path: &Path, buf: &mut [u8], offset: u64) -> Result<(), FlashError> {
    file.read_exact_at(buf, offset)
        .map_err(|source| FlashError::ImageRead {
            path: path.to_path_buf(),
            offset,
            source,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mbr() -> Vec<u8> {
        let mut head = vec![0u8; 4096];
        head[510] = 0x55;
        head[511] = 0xAA;
        head
    }

    #[test]
    fn a_boot_signature_makes_a_disk_and_efi_part_after_it_a_gpt_disk() {
        let mut head = mbr();
        assert_eq!(classify(&head), Ok(Table::Mbr));
        head[512..520].copy_from_slice(b"EFI PART");
        assert_eq!(classify(&head), Ok(Table::Gpt));
    }

    #[test]
    fn qcow2_magic_and_a_missing_signature_are_not_raw_disks() {
        let mut qcow = mbr();
        qcow[..4].copy_from_slice(b"QFI\xfb");
        assert_eq!(classify(&qcow), Err(NotRaw::Qcow2));
        assert_eq!(classify(&[0u8; 4096]), Err(NotRaw::NoSignature));
        assert_eq!(classify(&[0x55; 100]), Err(NotRaw::NoSignature));
    }
}
