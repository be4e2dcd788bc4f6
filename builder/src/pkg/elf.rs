//! The self-containment check: every ELF program or library in a package
//! must be for the package's architecture and find its interpreter and every
//! `DT_NEEDED` library inside the same tree, as the dynamic loader would.
//!
//! A small reader of the few ELF structures this needs (file header, program
//! headers, the dynamic section and its string table) keeps a parsing crate
//! out of the build; files are read by offset, never whole.

use cairn_boot::bytes::Endian;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;

use crate::arch::Arch;
use crate::fstree::glob::Glob;
use crate::fstree::tree::{Entry, Kind, Tree};

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;
const ET_EXEC: u16 = 2;
const ET_DYN: u16 = 3;
const PT_LOAD: u32 = 1;
const PT_DYNAMIC: u32 = 2;
const PT_INTERP: u32 = 3;
const DT_NEEDED: u64 = 1;
const DT_STRTAB: u64 = 5;
const DT_STRSZ: u64 = 10;
const DT_RPATH: u64 = 15;
const DT_RUNPATH: u64 = 29;
/// Bounds on what one file may make us read, against corrupt headers.
const MAX_TABLE: u64 = 16 << 20;

/// What the check needs to know about one ELF file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElfInfo {
    pub is_64: bool,
    pub machine: u16,
    pub kind: u16,
    pub interp: Option<String>,
    pub needed: Vec<String>,
    /// DT_RUNPATH, or DT_RPATH when there is no RUNPATH.
    pub search: Vec<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read {path} from the temporary build folder")]
pub struct ElfError {
    pub path: String,
    #[source]
    pub source: io::Error,
}

impl crate::exit::Classify for ElfError {
    fn class(&self) -> crate::exit::ErrorClass {
        crate::exit::ErrorClass::Environment
    }
}

/// One thing an ELF file needs that the tree does not give it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub what: String,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "/{}: {}", self.file, self.what)
    }
}

fn bad(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_string())
}

struct Reader<'a> {
    file: &'a File,
    endian: Endian,
}

impl Reader<'_> {
    fn bytes(&self, off: u64, len: u64) -> io::Result<Vec<u8>> {
        if len > MAX_TABLE {
            return Err(bad("table too large"));
        }
        let mut buf = vec![0u8; len as usize];
        self.file.read_exact_at(&mut buf, off)?;
        Ok(buf)
    }
    // A field past the end reads as 0, which every check below refuses.
    fn u16(&self, b: &[u8], at: usize) -> u16 {
        self.endian.u16(b, at).unwrap_or_default()
    }
    fn u32(&self, b: &[u8], at: usize) -> u32 {
        self.endian.u32(b, at).unwrap_or_default()
    }
    fn u64(&self, b: &[u8], at: usize) -> u64 {
        self.endian.u64(b, at).unwrap_or_default()
    }
}

/// Reads an ELF file's header and dynamic linking needs; `None` if the file
/// is not ELF. For 32-bit files only class and machine are read.
pub fn read(file: &File) -> io::Result<Option<ElfInfo>> {
    let mut ident = [0u8; 64];
    let len = file.metadata()?.len();
    if len < 64 {
        return Ok(None);
    }
    file.read_exact_at(&mut ident, 0)?;
    if &ident[..4] != b"\x7fELF" {
        return Ok(None);
    }
    let r = Reader {
        file,
        endian: if ident[5] == 2 {
            Endian::Big
        } else {
            Endian::Little
        },
    };
    let mut info = ElfInfo {
        is_64: ident[4] == 2,
        kind: r.u16(&ident, 16),
        machine: r.u16(&ident, 18),
        ..ElfInfo::default()
    };
    if !info.is_64 {
        return Ok(Some(info));
    }
    let phoff = r.u64(&ident, 32);
    let phentsize = u64::from(r.u16(&ident, 54));
    let phnum = u64::from(r.u16(&ident, 56));
    if phentsize < 56 {
        return Ok(Some(info));
    }
    let table = r.bytes(phoff, phentsize * phnum)?;
    let headers: Vec<(u32, u64, u64, u64)> = (0..phnum as usize)
        .map(|i| {
            let at = i * phentsize as usize;
            let kind = r.u32(&table, at);
            (
                kind,
                r.u64(&table, at + 8),
                r.u64(&table, at + 16),
                r.u64(&table, at + 32),
            )
        })
        .collect();
    let to_offset = |vaddr: u64| {
        headers
            .iter()
            .find(|&&(k, _, va, size)| {
                k == PT_LOAD && vaddr >= va && vaddr < va.saturating_add(size)
            })
            .map(|&(_, off, va, _)| off + (vaddr - va))
    };
    let mut dynamic = None;
    for &(kind, off, _, size) in &headers {
        match kind {
            PT_INTERP => {
                let raw = r.bytes(off, size)?;
                let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
                info.interp = Some(String::from_utf8_lossy(&raw[..end]).into_owned());
            }
            PT_DYNAMIC => dynamic = Some(r.bytes(off, size)?),
            _ => {}
        }
    }
    let Some(dynamic) = dynamic else {
        return Ok(Some(info));
    };
    let (mut strtab, mut strsz) = (None, 0);
    let mut refs: Vec<(u64, u64)> = Vec::new();
    for entry in dynamic.chunks_exact(16) {
        let (tag, val) = (r.u64(entry, 0), r.u64(entry, 8));
        match tag {
            0 => break,
            DT_STRTAB => strtab = to_offset(val),
            DT_STRSZ => strsz = val,
            DT_NEEDED | DT_RPATH | DT_RUNPATH => refs.push((tag, val)),
            _ => {}
        }
    }
    let strtab = strtab.ok_or_else(|| bad("dynamic section without a string table"))?;
    let strings = r.bytes(strtab, strsz)?;
    let text = |at: u64| -> String {
        let tail = strings.get(at as usize..).unwrap_or(&[]);
        let end = tail.iter().position(|&b| b == 0).unwrap_or(tail.len());
        String::from_utf8_lossy(&tail[..end]).into_owned()
    };
    let (mut rpath, mut runpath) = (Vec::new(), Vec::new());
    for (tag, val) in refs {
        let split = |s: String| {
            s.split(':')
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        match tag {
            DT_NEEDED => info.needed.push(text(val)),
            DT_RPATH => rpath.extend(split(text(val))),
            _ => runpath.extend(split(text(val))),
        }
    }
    info.search = if runpath.is_empty() { rpath } else { runpath };
    Ok(Some(info))
}

fn machine_name(m: u16) -> String {
    match m {
        EM_X86_64 => "x86-64".into(),
        EM_AARCH64 => "aarch64".into(),
        3 => "i386".into(),
        40 => "arm".into(),
        other => format!("machine {other}"),
    }
}

/// Checks every ELF program and library in `tree`; files `ignore` covers
/// (firmware for other processors) are skipped. Returns what is missing.
pub fn check(tree: &Tree, arch: Arch, ignore: &[Glob]) -> Result<Vec<Problem>, ElfError> {
    let want = match arch {
        Arch::Amd64 => EM_X86_64,
        Arch::Arm64 => EM_AARCH64,
    };
    let mut problems = Vec::new();
    for (path, entry) in tree.iter() {
        let Kind::File(id) = &entry.kind else {
            continue;
        };
        if ignore.iter().any(|g| g.covers(path)) {
            continue;
        }
        let err = |source| ElfError {
            path: path.to_string(),
            source,
        };
        let file = tree.contents().open(id).map_err(err)?;
        let info = match read(&file) {
            Ok(Some(info)) => info,
            Ok(None) => continue,
            Err(e)
                if e.kind() == io::ErrorKind::InvalidData
                    || e.kind() == io::ErrorKind::UnexpectedEof =>
            {
                problems.push(Problem {
                    file: path.to_string(),
                    what: format!("unreadable ELF headers ({e})"),
                });
                continue;
            }
            Err(e) => return Err(err(e)),
        };
        if info.kind != ET_EXEC && info.kind != ET_DYN {
            continue;
        }
        let mut problem = |what: String| {
            problems.push(Problem {
                file: path.to_string(),
                what,
            })
        };
        if info.machine != want || !info.is_64 {
            let bits = if info.is_64 { 64 } else { 32 };
            problem(format!(
                "built for {} ({bits}-bit), not {}; list it under `foreignElf` if it runs elsewhere",
                machine_name(info.machine),
                arch.name()
            ));
            continue;
        }
        if let Some(interp) = &info.interp
            && !is_file(tree, interp)
        {
            problem(format!("interpreter {interp} is not in the package"));
        }
        let origin = path.rsplit_once('/').map_or("", |(d, _)| d);
        for lib in &info.needed {
            if find_library(tree, arch, lib, &info.search, origin).is_none() {
                problem(format!("library {lib} is not in the package"));
            }
        }
    }
    Ok(problems)
}

fn is_file(tree: &Tree, path: &str) -> bool {
    tree.resolve(path).ok().is_some_and(|p| {
        matches!(
            tree.get(&p),
            Some(Entry {
                kind: Kind::File(_),
                ..
            })
        )
    })
}

/// Where the loader would find `lib`: `RUNPATH`/`RPATH` (with `$ORIGIN`),
/// then the multiarch and plain library folders.
pub fn find_library(
    tree: &Tree,
    arch: Arch,
    lib: &str,
    search: &[String],
    origin: &str,
) -> Option<String> {
    if lib.contains('/') {
        return is_file(tree, lib).then(|| lib.to_string());
    }
    let triplet = arch.triplet();
    let defaults = [
        format!("lib/{triplet}"),
        format!("usr/lib/{triplet}"),
        "lib".to_string(),
        "usr/lib".to_string(),
        "lib64".to_string(),
        "usr/lib64".to_string(),
    ];
    let custom = search.iter().map(|dir| {
        dir.replace("${ORIGIN}", &format!("/{origin}"))
            .replace("$ORIGIN", &format!("/{origin}"))
    });
    custom
        .chain(defaults)
        .map(|dir| format!("{}/{lib}", dir.trim_end_matches('/')))
        .find(|candidate| is_file(tree, candidate))
}

#[cfg(test)]
#[path = "elf_tests.rs"]
mod tests;
