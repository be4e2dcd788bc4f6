//! Writing a checked update, in the order that keeps the disk bootable if
//! it stops at any point: (1) the ESP loses the inactive slot's old UKI
//! (and spent ones), so nothing boots that slot while it changes; (2) the
//! root is written to the slot, synced and read back: its SHA-256 and its
//! dm-verity root hash must be the manifest's; (3) the slot's GPT entry
//! gets the GUID the new UKI pins (backup table first, then the primary);
//! (4) the new UKI goes to the ESP with a boot counter, its directory entry
//! written after its data, so a torn write leaves no entry at all.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};

use cairn_boot::gpt::{self, Partition, Rewrite};
use cairn_boot::{fat, verity};

use super::disk::verity_params;
use super::{Plan, UpdateError};
use crate::oci::digest::HashingWriter;
use crate::output::esp::UKI_DIR;
use crate::output::window::Window;

/// What an update did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    pub slot: u32,
    pub uki: String,
    pub removed: Vec<String>,
}

impl Plan {
    /// Writes the update; `progress` gets the root's bytes as they go.
    pub fn apply(self, progress: &dyn Fn(u64)) -> Result<Applied, UpdateError> {
        let path = self.disk.path.clone();
        let failed = |what: &str| {
            let (what, path) = (what.to_string(), path.clone());
            move |source: Box<dyn std::error::Error + Send + Sync>| UpdateError::Write {
                what,
                path,
                source,
            }
        };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&path)
            .map_err(|source| UpdateError::Read {
                path: path.clone(),
                source,
            })?;
        let (esp_start, _) = self.disk.esp;
        for stale in &self.stale {
            fat::remove_file(
                &mut Synced::new(&file, esp_start),
                &format!("{UKI_DIR}/{stale}"),
            )
            .map_err(|e| failed(&format!("the ESP ({UKI_DIR}/{stale})"))(Box::new(e)))?;
        }
        file.sync_all()
            .map_err(|e| failed("the ESP")(Box::new(e)))?;

        let target = (self.disk.parts.iter())
            .find(|p| p.slot == self.target)
            .and_then(Partition::byte_range)
            .unwrap_or_default();
        copy_root(&self, &file, target.0, progress)
            .map_err(|e| failed(&format!("root slot {}", self.target))(Box::new(e)))?;
        check_root(&self, &file, target.0)?;

        let mut parts = self.disk.parts.clone();
        for p in parts.iter_mut().filter(|p| p.slot == self.target) {
            p.unique_guid = self.new_guid;
        }
        let disk_bytes = (self.disk.header.alternate_lba + 1) * gpt::SECTOR;
        let table = gpt::encode_table(self.disk.header.disk_guid, disk_bytes, &parts)
            .map_err(|e| failed("the partition table")(Box::new(e)))?;
        for step in table.rewrite_steps(None) {
            match step {
                Rewrite::Write { offset, bytes, .. } => {
                    let mut w = Window::new(&file, 0);
                    w.seek(SeekFrom::Start(offset))
                        .and_then(|_| w.write_all(bytes))
                        .map_err(|e| failed("the partition table")(Box::new(e)))?;
                }
                Rewrite::Flush => file
                    .sync_all()
                    .map_err(|e| failed("the partition table")(Box::new(e)))?,
            }
        }

        let uki = &self.bundle.uki;
        fat::add_file(
            &mut Synced::new(&file, esp_start),
            UKI_DIR,
            &self.file,
            uki.len() as u64,
            &mut &uki[..],
        )
        .map_err(|e| failed(&format!("the ESP ({UKI_DIR}/{})", self.file))(Box::new(e)))?;
        file.sync_all()
            .map_err(|e| failed("the ESP")(Box::new(e)))?;
        Ok(Applied {
            slot: self.target,
            uki: self.file.clone(),
            removed: self.stale.clone(),
        })
    }
}

/// Streams the update's root into the slot at `offset`, then syncs.
fn copy_root(plan: &Plan, disk: &File, offset: u64, progress: &dyn Fn(u64)) -> io::Result<()> {
    let mut from = File::open(&plan.bundle.root)?.take(plan.bundle.manifest.root.size);
    let mut to = Window::new(disk, offset);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        to.write_all(&buf[..n])?;
        progress(n as u64);
    }
    disk.sync_all()
}

/// Reads the slot back: the bytes must hash to the manifest's SHA-256, and
/// the squashfs to the root hash the new UKI pins.
fn check_root(plan: &Plan, disk: &File, offset: u64) -> Result<(), UpdateError> {
    let fail = |why: String| UpdateError::Verify {
        path: plan.disk.path.clone(),
        slot: plan.target,
        why,
    };
    let size = plan.bundle.manifest.root.size;
    let mut reader = Window::new(disk, offset).take(size);
    let mut hash = HashingWriter::new(io::sink());
    io::copy(&mut reader, &mut hash).map_err(|e| fail(e.to_string()))?;
    let digest = hash.finish().0.hex().to_string();
    if digest != plan.bundle.manifest.root.sha256 {
        return Err(fail(format!("SHA-256 {digest}")));
    }
    let params = verity_params(&plan.bundle.uki).ok_or_else(|| fail("no verity words".into()))?;
    let data = params.data_blocks * 4096;
    if data > size {
        return Err(fail(
            "the UKI's verity geometry is larger than the root".into(),
        ));
    }
    let again = verity::build_with_salt(disk, offset, data, &params.salt, &mut io::sink())
        .map_err(|e| fail(e.to_string()))?;
    if again.root_hash != params.root_hash {
        return Err(fail(format!(
            "dm-verity root hash {}",
            hex::encode(again.root_hash)
        )));
    }
    Ok(())
}

/// The ESP as the FAT editor writes it: its `flush` between steps (data,
/// then the FATs, then the directory entry) reaches the disk, so a power
/// loss cannot reorder them.
struct Synced<'a> {
    window: Window<'a>,
    file: &'a File,
}

impl<'a> Synced<'a> {
    fn new(file: &'a File, base: u64) -> Synced<'a> {
        Synced {
            window: Window::new(file, base),
            file,
        }
    }
}

impl Read for Synced<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.window.read(buf)
    }
}

impl Write for Synced<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.window.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.sync_data()
    }
}

impl Seek for Synced<'_> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.window.seek(pos)
    }
}
