//! Whether a block device already holds something worth keeping: a file
//! system or a partition table, told by the signatures the kernel and
//! blkid look for. The format package runs this before mkfs so a disk is
//! formatted once, never again on a later boot.

/// How many bytes from the start of a device the signatures below need.
pub const PROBE_LEN: usize = 0x10040 + 8;

/// What was found, as blkid would name it.
pub fn identify(head: &[u8]) -> Option<&'static str> {
    let at = |offset: usize, magic: &[u8]| {
        head.get(offset..offset + magic.len())
            .is_some_and(|b| b == magic)
    };
    if at(1080, &[0x53, 0xef]) {
        return Some("ext2/3/4");
    }
    if at(0, b"XFSB") {
        return Some("xfs");
    }
    if at(0x10040, b"_BHRfS_M") {
        return Some("btrfs");
    }
    if at(0, b"hsqs") {
        return Some("squashfs");
    }
    if at(0, b"LUKS\xba\xbe") {
        return Some("crypto_LUKS");
    }
    if at(512, b"EFI PART") {
        return Some("a GPT partition table");
    }
    if at(0x52, b"FAT32   ") || at(0x36, b"FAT16   ") || at(0x36, b"FAT12   ") {
        return Some("vfat");
    }
    if at(4086, b"SWAPSPACE2") || at(65526, b"SWAPSPACE2") {
        return Some("swap");
    }
    // An MBR boot signature with a partition entry that is not empty.
    if at(510, &[0x55, 0xaa])
        && head
            .get(446..510)
            .is_some_and(|t| t.iter().any(|&b| b != 0))
    {
        return Some("an MBR partition table");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::{PROBE_LEN, identify};

    fn with(offset: usize, magic: &[u8]) -> Vec<u8> {
        let mut head = vec![0u8; PROBE_LEN];
        head[offset..offset + magic.len()].copy_from_slice(magic);
        head
    }

    #[test]
    fn a_blank_disk_holds_nothing() {
        assert_eq!(identify(&vec![0u8; PROBE_LEN]), None);
        assert_eq!(identify(&[]), None);
    }

    #[test]
    fn file_systems_and_partition_tables_are_recognised() {
        assert_eq!(identify(&with(1080, &[0x53, 0xef])), Some("ext2/3/4"));
        assert_eq!(identify(&with(0, b"XFSB")), Some("xfs"));
        assert_eq!(identify(&with(0x10040, b"_BHRfS_M")), Some("btrfs"));
        assert_eq!(
            identify(&with(512, b"EFI PART")),
            Some("a GPT partition table")
        );
        let mut mbr = with(510, &[0x55, 0xaa]);
        mbr[450] = 0x83;
        assert_eq!(identify(&mbr), Some("an MBR partition table"));
        assert_eq!(identify(&with(510, &[0x55, 0xaa])), None);
    }

    #[test]
    fn a_real_ext4_image_is_recognised() {
        let dir = std::env::temp_dir().join(format!("cairn-probe-{}", std::process::id()));
        let file = dir.with_extension("img");
        std::fs::write(&file, vec![0u8; 8 << 20]).unwrap();
        let ok = std::process::Command::new("mkfs.ext4")
            .args(["-q", "-F"])
            .arg(&file)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(identify(&bytes[..PROBE_LEN]), Some("ext2/3/4"));
        }
        let _ = std::fs::remove_file(&file);
        assert!(ok, "mkfs.ext4 (e2fsprogs) is on the host");
    }
}
