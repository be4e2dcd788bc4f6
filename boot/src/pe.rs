//! Reading PE/COFF images (the EFI executables firmware loads: the
//! systemd-stub, a UKI, the kernel's EFI stub) and their Authenticode
//! SHA-256, the digest UEFI firmware extends into PCR 4 for every image it
//! loads.
//!
//! Parsing is defensive: every offset and size is checked against the file
//! before use, nothing is allocated in proportion to a header field, and any
//! inconsistency is an error, so hostile input cannot panic or exhaust memory.
//!
//! The Authenticode digest follows Microsoft's "Windows Authenticode Portable
//! Executable Signature Format" the way EDK2 (OVMF, AAVMF) measures images:
//! the first `SizeOfHeaders` bytes without the CheckSum field and the
//! certificate-table directory entry; then each section with raw data, in
//! ascending `PointerToRawData` order (ties keep table order); then, when the
//! file is longer than the bytes hashed so far, the bytes from offset
//! "bytes hashed so far" up to the end of the file less the certificate
//! table's size. The last step counts bytes rather than following the layout,
//! so an image whose sections leave gaps hashes differently from a plain
//! linear hash; [`crate::uki::build`] writes gap-free images so both agree.

use sha2::{Digest, Sha256};

/// Index of the certificate table ("security directory") among the data
/// directories; its address is a file offset, not an RVA.
pub const CERTIFICATE_TABLE: usize = 4;
/// The Windows loader refuses more sections than this; so do we, which
/// bounds the section table we read.
pub const MAX_SECTIONS: usize = 96;

const PE32_MAGIC: u16 = 0x10b;
const PE32_PLUS_MAGIC: u16 = 0x20b;
const COFF_HEADER_LEN: usize = 20;
/// Bytes of one section header.
pub const SECTION_HEADER_LEN: usize = 40;
const MAX_DATA_DIRECTORIES: usize = 16;

#[derive(Debug, thiserror::Error)]
pub enum PeError {
    #[error(
        "PE image is cut short: its {what} at byte {offset} (+{size}) lies beyond its {len} \
         bytes; is the file complete and really an EFI executable?"
    )]
    Truncated {
        what: &'static str,
        offset: u64,
        size: u64,
        len: usize,
    },
    #[error("not a PE image: no `MZ` signature at byte 0; give an EFI executable")]
    NoMz,
    #[error("not a PE image: no `PE\\0\\0` signature at byte {offset}; give an EFI executable")]
    NoPe { offset: u64 },
    #[error(
        "PE optional header has magic {magic:#x}, neither PE32 (0x10b) nor PE32+ (0x20b); \
         give an EFI executable"
    )]
    BadMagic { magic: u16 },
    #[error(
        "PE optional header is {size} bytes, too small for its fields and {directories} data \
         directories; the image is malformed"
    )]
    OptionalHeaderTooSmall { size: u16, directories: u32 },
    #[error(
        "PE image declares {count} sections; at most {MAX_SECTIONS} are allowed, so the image \
         is malformed"
    )]
    TooManySections { count: usize },
    #[error(
        "PE image's SizeOfHeaders is {size_of_headers}, less than the {needed} bytes its \
         headers take; the image is malformed"
    )]
    HeadersTooSmall { size_of_headers: u32, needed: u64 },
    #[error(
        "PE image is {len} bytes, too short for the {hashed} bytes of headers and sections plus \
         its {cert} byte certificate table; the image is malformed or cut short"
    )]
    CertificateTableTooLarge { len: usize, hashed: u64, cert: u32 },
}

type Result<T> = std::result::Result<T, PeError>;

/// One entry of the section table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The raw 8 name bytes, NUL padded.
    pub raw_name: [u8; 8],
    pub virtual_size: u32,
    pub virtual_address: u32,
    pub raw_size: u32,
    pub raw_offset: u32,
    pub characteristics: u32,
}

impl Section {
    /// The name without its NUL padding.
    pub fn name(&self) -> &[u8] {
        let end = self.raw_name.iter().position(|&b| b == 0).unwrap_or(8);
        &self.raw_name[..end]
    }

    /// The bytes of the file this section's raw data spans; in bounds since
    /// [`parse`] checked every section.
    pub fn raw_range(&self) -> std::ops::Range<usize> {
        let start = self.raw_offset as usize;
        start..start + self.raw_size as usize
    }

    /// The end of the section in memory: loaders map `VirtualSize` bytes, or
    /// the raw size when that is larger.
    pub fn virtual_end(&self) -> u64 {
        u64::from(self.virtual_address) + u64::from(self.virtual_size.max(self.raw_size))
    }
}

/// One data directory entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DataDirectory {
    pub address: u32,
    pub size: u32,
}

/// The parts of a PE image's headers cairn reads or rewrites, with the file
/// offsets of the fields it rewrites.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pe {
    /// Offset of the `PE\0\0` signature (the DOS header's `e_lfanew`).
    pub pe_offset: usize,
    pub machine: u16,
    pub time_date_stamp: u32,
    pub pointer_to_symbol_table: u32,
    pub number_of_symbols: u32,
    /// PE32+ (64-bit) rather than PE32.
    pub plus: bool,
    pub size_of_initialized_data: u32,
    pub section_alignment: u32,
    pub file_alignment: u32,
    pub size_of_image: u32,
    pub size_of_headers: u32,
    pub checksum: u32,
    pub data_directories: Vec<DataDirectory>,
    pub sections: Vec<Section>,
    /// Offset of the first section header; private so that a `Pe` only
    /// comes from [`parse`].
    section_table: usize,
}

impl Pe {
    /// Offset of the COFF file header, right after the signature.
    pub fn coff_offset(&self) -> usize {
        self.pe_offset + 4
    }

    /// Offset of the optional header.
    pub fn optional_offset(&self) -> usize {
        self.coff_offset() + COFF_HEADER_LEN
    }

    /// Offset of the CheckSum field; the same in PE32 and PE32+.
    pub fn checksum_offset(&self) -> usize {
        self.optional_offset() + 64
    }

    /// Offset of the first data directory entry.
    pub fn data_directories_offset(&self) -> usize {
        self.optional_offset() + if self.plus { 112 } else { 96 }
    }

    /// Offset of the first section header.
    pub fn section_table_offset(&self) -> usize {
        self.section_table
    }

    /// The certificate table, when the image has one (it is signed).
    pub fn certificate_table(&self) -> Option<DataDirectory> {
        self.data_directories
            .get(CERTIFICATE_TABLE)
            .copied()
            .filter(|d| d.size != 0)
    }

    /// The last section named exactly `name`.
    pub fn section(&self, name: &[u8]) -> Option<&Section> {
        self.sections.iter().rev().find(|s| s.name() == name)
    }

    /// The end of the last section's raw data (or of the headers when no
    /// section has raw data).
    pub fn raw_end(&self) -> u64 {
        self.sections
            .iter()
            .map(|s| u64::from(s.raw_offset) + u64::from(s.raw_size))
            .fold(u64::from(self.size_of_headers), u64::max)
    }
}

fn bytes<'a>(data: &'a [u8], offset: u64, size: u64, what: &'static str) -> Result<&'a [u8]> {
    let truncated = || PeError::Truncated {
        what,
        offset,
        size,
        len: data.len(),
    };
    let end = offset.checked_add(size).ok_or_else(truncated)?;
    if end > data.len() as u64 {
        return Err(truncated());
    }
    Ok(&data[offset as usize..end as usize])
}

fn u16_at(data: &[u8], offset: usize, what: &'static str) -> Result<u16> {
    let b = bytes(data, offset as u64, 2, what)?;
    Ok(crate::bytes::le_u16(b, 0).unwrap_or_default())
}

fn u32_at(data: &[u8], offset: usize, what: &'static str) -> Result<u32> {
    let b = bytes(data, offset as u64, 4, what)?;
    Ok(crate::bytes::le_u32(b, 0).unwrap_or_default())
}

/// Reads the headers and section table of a PE32 or PE32+ image and checks
/// that every section's raw data lies inside `data`.
pub fn parse(data: &[u8]) -> Result<Pe> {
    if bytes(data, 0, 64, "DOS header")?[..2] != *b"MZ" {
        return Err(PeError::NoMz);
    }
    let pe_offset = u32_at(data, 0x3c, "e_lfanew")? as usize;
    if bytes(data, pe_offset as u64, 4, "PE signature")? != b"PE\0\0" {
        return Err(PeError::NoPe {
            offset: pe_offset as u64,
        });
    }
    let coff = pe_offset + 4;
    bytes(data, coff as u64, COFF_HEADER_LEN as u64, "COFF header")?;
    let count = usize::from(u16_at(data, coff + 2, "NumberOfSections")?);
    if count > MAX_SECTIONS {
        return Err(PeError::TooManySections { count });
    }
    let optional_size = u16_at(data, coff + 16, "SizeOfOptionalHeader")?;
    let opt = coff + COFF_HEADER_LEN;
    bytes(
        data,
        opt as u64,
        u64::from(optional_size),
        "optional header",
    )?;
    let magic = u16_at(data, opt, "optional header magic")?;
    let plus = match magic {
        PE32_MAGIC => false,
        PE32_PLUS_MAGIC => true,
        _ => return Err(PeError::BadMagic { magic }),
    };
    let (rva_count_at, dirs_at) = if plus { (108, 112) } else { (92, 96) };
    // The fixed fields must lie inside the optional header: the UKI writer
    // rewrites them in place and must not write past the headers.
    let directories = if usize::from(optional_size) >= dirs_at {
        u32_at(data, opt + rva_count_at, "NumberOfRvaAndSizes")?
    } else {
        return Err(PeError::OptionalHeaderTooSmall {
            size: optional_size,
            directories: 0,
        });
    };
    // More than 16 entries is tolerated by loaders; only the first 16 mean anything.
    let used = (directories as usize).min(MAX_DATA_DIRECTORIES);
    if usize::from(optional_size) < dirs_at + 8 * used {
        return Err(PeError::OptionalHeaderTooSmall {
            size: optional_size,
            directories,
        });
    }
    let mut data_directories = Vec::with_capacity(used);
    for i in 0..used {
        let at = opt + dirs_at + 8 * i;
        data_directories.push(DataDirectory {
            address: u32_at(data, at, "data directory")?,
            size: u32_at(data, at + 4, "data directory")?,
        });
    }
    let table = opt + usize::from(optional_size);
    bytes(
        data,
        table as u64,
        (count * SECTION_HEADER_LEN) as u64,
        "section table",
    )?;
    let mut sections = Vec::with_capacity(count);
    for i in 0..count {
        let at = table + i * SECTION_HEADER_LEN;
        let mut raw_name = [0u8; 8];
        raw_name.copy_from_slice(&data[at..at + 8]);
        let section = Section {
            raw_name,
            virtual_size: u32_at(data, at + 8, "section header")?,
            virtual_address: u32_at(data, at + 12, "section header")?,
            raw_size: u32_at(data, at + 16, "section header")?,
            raw_offset: u32_at(data, at + 20, "section header")?,
            characteristics: u32_at(data, at + 36, "section header")?,
        };
        bytes(
            data,
            u64::from(section.raw_offset),
            u64::from(section.raw_size),
            "section data",
        )?;
        sections.push(section);
    }
    let size_of_headers = u32_at(data, opt + 60, "SizeOfHeaders")?;
    bytes(
        data,
        0,
        u64::from(size_of_headers),
        "headers (SizeOfHeaders)",
    )?;
    Ok(Pe {
        pe_offset,
        machine: u16_at(data, coff, "Machine")?,
        time_date_stamp: u32_at(data, coff + 4, "TimeDateStamp")?,
        pointer_to_symbol_table: u32_at(data, coff + 8, "PointerToSymbolTable")?,
        number_of_symbols: u32_at(data, coff + 12, "NumberOfSymbols")?,
        plus,
        size_of_initialized_data: u32_at(data, opt + 8, "SizeOfInitializedData")?,
        section_alignment: u32_at(data, opt + 32, "SectionAlignment")?,
        file_alignment: u32_at(data, opt + 36, "FileAlignment")?,
        size_of_image: u32_at(data, opt + 56, "SizeOfImage")?,
        size_of_headers,
        checksum: u32_at(data, opt + 64, "CheckSum")?,
        data_directories,
        sections,
        section_table: table,
    })
}

/// The Authenticode SHA-256 of a PE image, as UEFI firmware measures it
/// (see the module documentation).
pub fn authenticode_sha256(data: &[u8]) -> Result<[u8; 32]> {
    let pe = parse(data)?;
    let mut hash = Sha256::new();
    let checksum = pe.checksum_offset() as u64;
    let headers_end = u64::from(pe.size_of_headers);
    // With no certificate-table entry the whole header after CheckSum counts.
    let skipped: Vec<(u64, u64)> = if pe.data_directories.len() > CERTIFICATE_TABLE {
        let cert_entry = (pe.data_directories_offset() + 8 * CERTIFICATE_TABLE) as u64;
        vec![(checksum, 4), (cert_entry, 8)]
    } else {
        vec![(checksum, 4)]
    };
    let mut at = 0u64;
    for (start, len) in skipped {
        if start + len > headers_end {
            return Err(PeError::HeadersTooSmall {
                size_of_headers: pe.size_of_headers,
                needed: start + len,
            });
        }
        hash.update(&data[at as usize..start as usize]);
        at = start + len;
    }
    hash.update(&data[at as usize..headers_end as usize]);

    let mut hashed = headers_end;
    let mut by_offset: Vec<&Section> = pe.sections.iter().filter(|s| s.raw_size != 0).collect();
    by_offset.sort_by_key(|s| s.raw_offset);
    for s in by_offset {
        hash.update(&data[s.raw_range()]);
        hashed += u64::from(s.raw_size);
    }

    let len = data.len() as u64;
    if len > hashed {
        let cert = pe.certificate_table().map_or(0, |d| d.size);
        let end = hashed + u64::from(cert);
        if len < end {
            return Err(PeError::CertificateTableTooLarge {
                len: data.len(),
                hashed,
                cert,
            });
        }
        hash.update(&data[hashed as usize..(len - u64::from(cert)) as usize]);
    }
    Ok(hash.finalize().into())
}

#[cfg(test)]
#[path = "pe_tests.rs"]
pub(crate) mod tests;
