//! Bootable hybrid ISO images (ECMA-119 with El Torito). A volume holds a
//! few files, in the root or in folders of the root, and boots in up to
//! two ways at once:
//!
//! - BIOS: ISOLINUX, named in the El Torito catalog (CDs, virtual media)
//!   and started by syslinux's hybrid MBR code from the system area (the
//!   same bytes on a USB stick or disk);
//! - UEFI: a FAT EFI system partition image, named in the catalog and as
//!   an MBR partition of type 0xEF.
//!
//! The caller writes each file's bytes at its [`Placed::offset`]; this
//! module writes everything around them. Every field that could vary
//! (dates, identifiers) comes from the caller, so the same inputs give the
//! same bytes. A GPT disk can carry a volume too: its descriptors fit
//! between the partition table and the first partition, and its files lie
//! inside a partition ([`Layout::new`]'s `data_start`).

mod boot;
mod records;

use std::io::{self, Seek, SeekFrom, Write};

pub use self::boot::{hybrid_code, patch_isolinux};

/// ISO 9660 logical blocks.
pub const BLOCK: u64 = 2048;
const PVD: u64 = 16;
const BOOT_RECORD: u64 = 17;
const TERMINATOR: u64 = 18;
const CATALOG: u64 = 19;
const PATH_L: u64 = 20;
const PATH_M: u64 = 21;
const ROOT: u64 = 22;
/// Files a folder may hold: all its records fit one block.
const MAX_ENTRIES: usize = 32;

/// A file to place: `path` is `NAME.EXT` or `FOLDER/NAME.EXT` in ISO 9660
/// characters (A-Z, 0-9, `_`), 8.3 at most.
#[derive(Debug, Clone, Copy)]
pub struct File<'a> {
    pub path: &'a str,
    pub size: u64,
}

/// A file placed in the volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placed {
    pub path: String,
    pub offset: u64,
    pub size: u64,
}

impl Placed {
    fn block(&self) -> u32 {
        (self.offset / BLOCK) as u32
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Dir {
    /// Empty for the root.
    name: String,
    block: u32,
}

/// Where everything goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    pub files: Vec<Placed>,
    dirs: Vec<Dir>,
    /// The file ISOLINUX boots from, by index.
    bios: Option<usize>,
    /// The EFI system partition image, by index.
    efi: Option<usize>,
    /// The whole volume, a multiple of 1 MiB (what USB sticks and disk
    /// tools expect of a disk image).
    pub size: u64,
}

fn invalid(what: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, what)
}

fn check_name(name: &str, folder: bool) -> io::Result<()> {
    let (stem, ext) = match name.split_once('.') {
        Some(_) if folder => return Err(invalid(format!("folder name {name:?} has a dot"))),
        Some((s, e)) => (s, e),
        None => (name, ""),
    };
    let good = |s: &str| {
        s.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
    };
    if stem.is_empty() || stem.len() > 8 || ext.len() > 3 || !good(stem) || !good(ext) {
        return Err(invalid(format!("{name:?} is not an ISO 9660 8.3 name")));
    }
    Ok(())
}

impl Layout {
    /// Places `files` in order, each on a block boundary, from `data_start`
    /// (or right after the directories); `bios` and `efi` name the boot
    /// files by index.
    pub fn new(
        files: &[File],
        bios: Option<usize>,
        efi: Option<usize>,
        data_start: Option<u64>,
    ) -> io::Result<Layout> {
        let mut names: Vec<String> = Vec::new();
        for f in files {
            let (folder, name) = f.path.split_once('/').unwrap_or(("", f.path));
            if !folder.is_empty() {
                check_name(folder, true)?;
                if !names.iter().any(|n| n == folder) {
                    names.push(folder.to_string());
                }
            }
            check_name(name, false)?;
            if f.size > u64::from(u32::MAX) {
                return Err(invalid(format!(
                    "{} is {} bytes; an ISO 9660 file holds at most 4 GiB",
                    f.path, f.size
                )));
            }
        }
        names.sort();
        let mut dirs = vec![Dir {
            name: String::new(),
            block: ROOT as u32,
        }];
        for (i, name) in names.into_iter().enumerate() {
            dirs.push(Dir {
                name,
                block: (ROOT + 1) as u32 + i as u32,
            });
        }
        for dir in &dirs {
            let count = files
                .iter()
                .filter(|f| f.path.split_once('/').map_or("", |(d, _)| d) == dir.name)
                .count();
            if count + dirs.len() > MAX_ENTRIES {
                return Err(invalid(format!(
                    "too many files in one ISO 9660 folder ({count})"
                )));
            }
        }
        for i in bios.iter().chain(efi.iter()) {
            if *i >= files.len() {
                return Err(invalid(format!("boot file {i} is not among the files")));
            }
        }
        let first = (ROOT + dirs.len() as u64) * BLOCK;
        let mut at = data_start.map_or(first, |s| s.max(first)).div_ceil(BLOCK) * BLOCK;
        let mut placed = Vec::with_capacity(files.len());
        for f in files {
            placed.push(Placed {
                path: f.path.to_string(),
                offset: at,
                size: f.size,
            });
            at += f.size.div_ceil(BLOCK).max(1) * BLOCK;
        }
        Ok(Layout {
            files: placed,
            dirs,
            bios,
            efi,
            size: at.div_ceil(1 << 20) * (1 << 20),
        })
    }

    fn blocks(&self) -> u32 {
        u32::try_from(self.size / BLOCK).unwrap_or(u32::MAX)
    }

    /// The bytes from the first descriptor to the end of the last folder:
    /// what a disk must leave free for them (from 32 KiB).
    pub fn descriptors_end(&self) -> u64 {
        (ROOT + self.dirs.len() as u64) * BLOCK
    }

    fn directory(&self, dir: &Dir, mtime: u64) -> Vec<u8> {
        let mut d = Vec::with_capacity(BLOCK as usize);
        d.extend(records::record(dir.block, BLOCK as u32, true, &[0], mtime));
        d.extend(records::record(
            ROOT as u32,
            BLOCK as u32,
            true,
            &[1],
            mtime,
        ));
        let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
        if dir.name.is_empty() {
            for sub in &self.dirs[1..] {
                let r = records::record(sub.block, BLOCK as u32, true, sub.name.as_bytes(), mtime);
                entries.push((sub.name.clone(), r));
            }
        }
        for f in &self.files {
            let (folder, name) = f.path.split_once('/').unwrap_or(("", &f.path));
            if folder != dir.name {
                continue;
            }
            let id = if name.contains('.') {
                format!("{name};1")
            } else {
                format!("{name}.;1")
            };
            let r = records::record(f.block(), f.size as u32, false, id.as_bytes(), mtime);
            entries.push((name.to_string(), r));
        }
        entries.sort();
        for (_, r) in entries {
            d.extend(r);
        }
        d.resize(BLOCK as usize, 0);
        d
    }
}

/// The identifiers and the date written into the volume descriptor.
#[derive(Debug, Clone)]
pub struct Meta<'a> {
    /// Written upper case, other characters as `_`, cut at 32.
    pub volume_id: &'a str,
    /// Seconds since 1970 (SOURCE_DATE_EPOCH), for every date field.
    pub mtime: u64,
}

/// The first 32 KiB: ISO 9660 leaves them to the medium.
#[derive(Debug)]
pub enum SystemArea<'a> {
    /// An MBR with this disk signature, and for a BIOS boot file the
    /// hybrid MBR code (syslinux's `isohdpfx.bin`).
    Mbr {
        disk_signature: u32,
        bios_code: Option<&'a [u8]>,
    },
    /// Left as it is: a GPT disk writes its own, with [`hybrid_code`].
    Untouched,
}

/// Writes the system area, the volume descriptors, the boot catalog, the
/// path tables and the folders; then zeros to the volume's end.
pub fn write(
    out: &mut (impl Write + Seek),
    layout: &Layout,
    meta: &Meta,
    system: &SystemArea,
) -> io::Result<()> {
    let mut put = |block: u64, bytes: &[u8]| -> io::Result<()> {
        out.seek(SeekFrom::Start(block * BLOCK))?;
        out.write_all(bytes)
    };
    if let SystemArea::Mbr {
        disk_signature,
        bios_code,
    } = system
    {
        put(0, &boot::mbr(layout, *disk_signature, *bios_code)?)?;
    }
    put(PVD, &records::primary(layout, meta))?;
    put(BOOT_RECORD, &boot::boot_record())?;
    let mut end = vec![0u8; BLOCK as usize];
    end[0] = 255;
    end[1..6].copy_from_slice(b"CD001");
    end[6] = 1;
    put(TERMINATOR, &end)?;
    put(CATALOG, &boot::catalog(layout))?;
    let mut table = records::path_table(&layout.dirs, false);
    table.resize(BLOCK as usize, 0);
    put(PATH_L, &table)?;
    let mut table = records::path_table(&layout.dirs, true);
    table.resize(BLOCK as usize, 0);
    put(PATH_M, &table)?;
    for dir in &layout.dirs {
        put(u64::from(dir.block), &layout.directory(dir, meta.mtime))?;
    }
    // Zeros after the last file to the volume's end, so the image has its
    // full length even where nothing was written.
    if let Some(last) = layout.files.last() {
        let end = last.offset + last.size;
        if layout.size > end {
            out.seek(SeekFrom::Start(layout.size - 1))?;
            out.write_all(&[0])?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
