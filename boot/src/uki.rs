//! The unified kernel image: systemd-stub (Debian 12's systemd 252,
//! `linuxx64.efi.stub` or `linuxaa64.efi.stub`) with the kernel, initrd,
//! command line and os-release appended as PE sections, one EFI executable
//! that firmware measures as a whole.
//!
//! Layout: the stub's headers and sections are kept byte for byte; the new
//! sections follow in ukify's order (`.osrel`, `.cmdline`, `.uname`,
//! `.initrd`, any extra sections, `.linux` last since it is the largest),
//! each at the next virtual address aligned to the stub's SectionAlignment
//! and with raw data padded to its FileAlignment, so the file has no gaps
//! and its Authenticode digest is the same whether computed section by
//! section (as firmware does) or linearly (as `osslsigncode` does).
//! Anything after the stub's last section is dropped: it would otherwise
//! sit between the stub's sections and ours. In Debian's x86_64 stub that is
//! the COFF symbol table (its header fields are zeroed); in the arm64 stub,
//! whose PE header gnu-efi writes by hand with only `.text` and `.data`, it
//! is an unmapped copy of the SBAT and `LoaderInfo` strings past SizeOfImage,
//! which the firmware never loads.
//!
//! No section needs more alignment than the stub's: systemd 252 hands
//! `.linux` to the firmware's LoadImage, which copies and relocates it (the
//! x86 EFI handover path that runs the kernel in place is only taken for
//! kernels older than 5.8 that cannot load an initrd through
//! LINUX_INITRD_MEDIA), and it serves `.initrd` from where it lies.
//!
//! Reproducible: the stub's TimeDateStamp is kept (Debian builds it with a
//! fixed one), CheckSum is 0, padding is zeros.

use crate::pe::{self, PeError, SECTION_HEADER_LEN};

/// The sections systemd-stub 252 looks up, in the order of its table (which
/// is also the order it measures them into PCR 11). It matches a section
/// header when the header's name starts with one of these, so extra
/// sections must not.
pub const STUB_SECTIONS: [&str; 8] = [
    ".linux", ".osrel", ".cmdline", ".initrd", ".splash", ".dtb", ".pcrsig", ".pcrpkey",
];

/// Sections later stubs read; reserved too so a newer stub does not
/// misread an extra section.
const RESERVED: [&str; 4] = [".uname", ".sbat", ".ucode", ".profile"];

/// IMAGE_SCN_CNT_INITIALIZED_DATA | IMAGE_SCN_MEM_READ.
pub const DATA_CHARACTERISTICS: u32 = 0x4000_0040;

/// The contents of a UKI. Empty sections other than `linux` are left out
/// (systemd-stub treats a zero-sized section as absent anyway).
#[derive(Debug, Clone, Copy)]
pub struct Sections<'a> {
    pub osrel: &'a [u8],
    pub cmdline: &'a [u8],
    pub linux: &'a [u8],
    pub initrd: &'a [u8],
    pub uname: Option<&'a [u8]>,
    /// Further sections, e.g. `(".cairn", plan text)`, placed before `.linux`.
    pub extra: &'a [(&'a str, &'a [u8])],
}

#[derive(Debug, thiserror::Error)]
pub enum UkiError {
    #[error(
        "the systemd-stub is not a usable PE image; give linuxx64.efi.stub or linuxaa64.efi.stub"
    )]
    Stub {
        #[source]
        source: PeError,
    },
    #[error("the UKI is not a readable PE image")]
    Uki {
        #[source]
        source: PeError,
    },
    #[error(
        "the systemd-stub is signed; appending sections would break its signature, so give \
         the unsigned stub and sign the finished UKI instead"
    )]
    StubSigned,
    #[error(
        "the systemd-stub's SectionAlignment {section} or FileAlignment {file} is not a power \
         of two; the stub is malformed"
    )]
    BadAlignment { section: u32, file: u32 },
    #[error(
        "the systemd-stub's section {name:?} has a long name kept in the COFF string table, \
         which the UKI drops; give a stub whose section names fit in 8 bytes"
    )]
    LongStubName { name: String },
    #[error("UKI section name {name:?} is not 2 to 8 printable ASCII characters starting with `.`")]
    BadName { name: String },
    #[error(
        "UKI section {name:?} clashes with a section of the stub or one systemd-stub reads \
         itself; choose another name"
    )]
    NameClash { name: String },
    #[error("the UKI needs a kernel: the .linux section is empty")]
    NoKernel,
    #[error(
        "the systemd-stub has room for {room} more section headers before its first section, \
         but the UKI needs {needed}; use fewer extra sections or a stub with more header room"
    )]
    NoHeaderRoom { room: usize, needed: usize },
    #[error(
        "the UKI would exceed 4 GiB at section {name:?}; PE images address at most 4 GiB, so \
         shrink the initrd or kernel"
    )]
    TooLarge { name: String },
}

type Result<T> = std::result::Result<T, UkiError>;

fn align_up(value: u64, align: u32) -> u64 {
    let a = u64::from(align);
    value.div_ceil(a) * a
}

fn put_u16(out: &mut [u8], at: usize, v: u16) {
    out[at..at + 2].copy_from_slice(&v.to_le_bytes());
}

fn put_u32(out: &mut [u8], at: usize, v: u32) {
    out[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

fn to_u32(v: u64, name: &str) -> Result<u32> {
    u32::try_from(v).map_err(|_| UkiError::TooLarge { name: name.into() })
}

/// The sections to append, in order, empty ones left out.
fn ordered<'a>(s: &Sections<'a>) -> Result<Vec<(&'a str, &'a [u8])>> {
    if s.linux.is_empty() {
        return Err(UkiError::NoKernel);
    }
    let mut list = vec![(".osrel", s.osrel), (".cmdline", s.cmdline)];
    if let Some(uname) = s.uname {
        list.push((".uname", uname));
    }
    list.push((".initrd", s.initrd));
    for &(name, data) in s.extra {
        let reserved = STUB_SECTIONS.iter().chain(RESERVED.iter());
        if reserved.clone().any(|r| name.starts_with(r)) {
            return Err(UkiError::NameClash { name: name.into() });
        }
        list.push((name, data));
    }
    list.push((".linux", s.linux));
    list.retain(|(_, data)| !data.is_empty());
    Ok(list)
}

fn check_name(name: &str, taken: &[Vec<u8>]) -> Result<[u8; 8]> {
    let ok = name.len() >= 2
        && name.len() <= 8
        && name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_graphic());
    if !ok {
        return Err(UkiError::BadName { name: name.into() });
    }
    if taken.iter().any(|t| t.as_slice() == name.as_bytes()) {
        return Err(UkiError::NameClash { name: name.into() });
    }
    let mut raw = [0u8; 8];
    raw[..name.len()].copy_from_slice(name.as_bytes());
    Ok(raw)
}

/// Builds a UKI from a systemd-stub and the sections to append.
pub fn build(stub: &[u8], s: &Sections) -> Result<Vec<u8>> {
    let pe = pe::parse(stub).map_err(|source| UkiError::Stub { source })?;
    if pe.certificate_table().is_some() {
        return Err(UkiError::StubSigned);
    }
    let (sa, fa) = (pe.section_alignment, pe.file_alignment);
    if !sa.is_power_of_two() || !fa.is_power_of_two() {
        return Err(UkiError::BadAlignment {
            section: sa,
            file: fa,
        });
    }
    let mut taken: Vec<Vec<u8>> = Vec::new();
    for section in &pe.sections {
        if section.name().starts_with(b"/") {
            return Err(UkiError::LongStubName {
                name: String::from_utf8_lossy(section.name()).into_owned(),
            });
        }
        taken.push(section.name().to_vec());
    }
    let list = ordered(s)?;

    // New headers go into the space between the section table and the
    // first section or SizeOfHeaders. That space is header padding whatever
    // it holds: zeros in the x86 stub, NOP instructions in gnu-efi's
    // hand-made arm64 header.
    let table_end = pe.section_table_offset() + pe.sections.len() * SECTION_HEADER_LEN;
    let limit = pe
        .sections
        .iter()
        .filter(|sec| sec.raw_size != 0)
        .map(|sec| sec.raw_offset as usize)
        .fold(pe.size_of_headers as usize, usize::min);
    let room = limit.saturating_sub(table_end) / SECTION_HEADER_LEN;
    if room < list.len() {
        return Err(UkiError::NoHeaderRoom {
            room,
            needed: list.len(),
        });
    }

    let stub_end = pe.raw_end();
    let mut raw = align_up(stub_end, fa);
    let first_va = pe
        .sections
        .iter()
        .map(pe::Section::virtual_end)
        .fold(u64::from(pe.size_of_image), u64::max);
    let mut va = align_up(first_va, sa);
    let mut headers = Vec::with_capacity(list.len() * SECTION_HEADER_LEN);
    let mut initialized = u64::from(pe.size_of_initialized_data);
    for &(name, data) in &list {
        let raw_name = check_name(name, &taken)?;
        taken.push(name.as_bytes().to_vec());
        let raw_size = align_up(data.len() as u64, fa);
        let mut header = [0u8; SECTION_HEADER_LEN];
        header[..8].copy_from_slice(&raw_name);
        put_u32(&mut header, 8, to_u32(data.len() as u64, name)?);
        put_u32(&mut header, 12, to_u32(va, name)?);
        put_u32(&mut header, 16, to_u32(raw_size, name)?);
        put_u32(&mut header, 20, to_u32(raw, name)?);
        put_u32(&mut header, 36, DATA_CHARACTERISTICS);
        headers.extend_from_slice(&header);
        raw += raw_size;
        va = align_up(va + raw_size, sa);
        initialized += raw_size;
        to_u32(raw, name)?;
    }
    let last = list.last().map_or(".linux", |(name, _)| name);
    let size_of_image = to_u32(va, last)?;
    let initialized = to_u32(initialized, last)?;
    let count = u16::try_from(pe.sections.len() + list.len())
        .map_err(|_| UkiError::TooLarge { name: last.into() })?;

    let mut out = Vec::with_capacity(raw as usize);
    out.extend_from_slice(&stub[..stub_end as usize]);
    for &(_, data) in &list {
        out.resize(align_up(out.len() as u64, fa) as usize, 0);
        out.extend_from_slice(data);
    }
    out.resize(raw as usize, 0);

    out[table_end..table_end + headers.len()].copy_from_slice(&headers);
    put_u16(&mut out, pe.coff_offset() + 2, count);
    if u64::from(pe.pointer_to_symbol_table) >= stub_end {
        put_u32(&mut out, pe.coff_offset() + 8, 0);
        put_u32(&mut out, pe.coff_offset() + 12, 0);
    }
    put_u32(&mut out, pe.optional_offset() + 8, initialized);
    put_u32(&mut out, pe.optional_offset() + 56, size_of_image);
    put_u32(&mut out, pe.checksum_offset(), 0);
    Ok(out)
}

/// The contents of the last section named exactly `name` (the one
/// systemd-stub uses): its raw data cut to its VirtualSize, or `None` when
/// the UKI has no such section.
pub fn read_section<'a>(uki: &'a [u8], name: &str) -> Result<Option<&'a [u8]>> {
    let pe = pe::parse(uki).map_err(|source| UkiError::Uki { source })?;
    Ok(pe.section(name.as_bytes()).map(|section| {
        let range = section.raw_range();
        let len = (section.virtual_size as usize).min(range.len());
        &uki[range.start..range.start + len]
    }))
}

#[cfg(test)]
#[path = "uki_tests.rs"]
mod tests;
