//! What `depmod` would compute, for kernels whose modules come without a
//! `modules.dep`: Debian's linux-image packages leave it to the postinst
//! script, which never runs here. A module's `.modinfo` ELF section lists its
//! dependencies by name (`depends=a,b`).

use cairn_boot::bytes::{le_u16, le_u32, le_u64};

/// What a module says about itself in its `.modinfo` section.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ModInfo {
    pub name: Option<String>,
    /// Modules whose symbols it uses.
    pub depends: Vec<String>,
    /// `softdep=pre: ...`: modules (or aliases) to load before it, e.g.
    /// libcrc32c's `crc32c`, which only an implementation's alias provides.
    pub pre: Vec<String>,
    pub aliases: Vec<String>,
}

/// The `.modinfo` fields of a module, or None when `ko` is not a
/// little-endian ELF64 object with one (compressed modules, other objects).
pub fn read(ko: &[u8]) -> Option<ModInfo> {
    let section = modinfo_section(ko)?;
    let mut info = ModInfo::default();
    for field in section.split(|b| *b == 0) {
        let field = String::from_utf8_lossy(field);
        if let Some(n) = field.strip_prefix("name=") {
            info.name = Some(n.to_string());
        } else if let Some(d) = field.strip_prefix("depends=") {
            info.depends
                .extend(d.split(',').filter(|s| !s.is_empty()).map(String::from));
        } else if let Some(a) = field.strip_prefix("alias=") {
            info.aliases.push(a.to_string());
        } else if let Some(soft) = field.strip_prefix("softdep=") {
            let mut in_pre = false;
            for word in soft.split_whitespace() {
                match word {
                    "pre:" => in_pre = true,
                    "post:" => in_pre = false,
                    w if in_pre => info.pre.push(w.to_string()),
                    _ => {}
                }
            }
        }
    }
    Some(info)
}

fn modinfo_section(b: &[u8]) -> Option<&[u8]> {
    // ELF magic, 64-bit, little-endian.
    if b.get(0..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let shoff = usize::try_from(le_u64(b, 0x28)?).ok()?;
    let shentsize = usize::from(le_u16(b, 0x3a)?);
    let shnum = usize::from(le_u16(b, 0x3c)?);
    let shstrndx = usize::from(le_u16(b, 0x3e)?);
    if shentsize < 64 {
        return None;
    }
    let header = |i: usize| shoff.checked_add(i.checked_mul(shentsize)?);
    let section = |i: usize| -> Option<(usize, &[u8])> {
        let h = header(i)?;
        let name = usize::try_from(le_u32(b, h)?).ok()?;
        let offset = usize::try_from(le_u64(b, h + 24)?).ok()?;
        let size = usize::try_from(le_u64(b, h + 32)?).ok()?;
        Some((name, b.get(offset..offset.checked_add(size)?)?))
    };
    let (_, names) = section(shstrndx)?;
    (0..shnum).find_map(|i| {
        let (name, data) = section(i)?;
        let rest = names.get(name..)?;
        let end = rest.iter().position(|c| *c == 0)?;
        (&rest[..end] == b".modinfo").then_some(data)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 LE object with a section-name table and a `.modinfo`.
    pub(crate) fn fake_module(modinfo: &[u8]) -> Vec<u8> {
        let names = b"\0.shstrtab\0.modinfo\0";
        let mut b = vec![0u8; 64];
        b[0..6].copy_from_slice(b"\x7fELF\x02\x01");
        let names_off = b.len();
        b.extend_from_slice(names);
        let info_off = b.len();
        b.extend_from_slice(modinfo);
        let shoff = b.len();
        b[0x28..0x30].copy_from_slice(&(shoff as u64).to_le_bytes());
        b[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        b[0x3c..0x3e].copy_from_slice(&3u16.to_le_bytes());
        b[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        let mut sh = |name: u32, off: usize, size: usize| {
            let mut h = [0u8; 64];
            h[0..4].copy_from_slice(&name.to_le_bytes());
            h[24..32].copy_from_slice(&(off as u64).to_le_bytes());
            h[32..40].copy_from_slice(&(size as u64).to_le_bytes());
            b.extend_from_slice(&h);
        };
        sh(0, 0, 0);
        sh(1, names_off, names.len());
        sh(11, info_off, modinfo.len());
        b
    }

    #[test]
    fn depends_and_name_come_from_the_modinfo_section() {
        let ko = fake_module(
            b"license=GPL\0depends=dm-mod,dm-bufio\0softdep=pre: crc32c post: x\0alias=crypto-y\0name=dm_verity\0",
        );
        let info = read(&ko).unwrap();
        assert_eq!(info.name.as_deref(), Some("dm_verity"));
        assert_eq!(info.depends, vec!["dm-mod", "dm-bufio"]);
        assert_eq!(info.pre, vec!["crc32c"]);
        assert_eq!(info.aliases, vec!["crypto-y"]);
    }

    #[test]
    fn empty_depends_and_non_elf_input_are_handled() {
        let ko = fake_module(b"depends=\0name=virtio\0");
        assert_eq!(read(&ko).unwrap().depends, Vec::<String>::new());
        assert!(read(b"\x28\xb5\x2f\xfdcompressed").is_none());
        assert!(read(&[]).is_none());
    }
}
