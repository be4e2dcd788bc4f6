//! Whether a block device already holds something worth keeping: a file
//! system or a partition table, told by the signatures the kernel and
//! blkid look for. The format package runs this before mkfs so a disk is
//! formatted once, never again on a later boot.

/// How many bytes from the start of a device the signatures and labels
/// below need (btrfs keeps its superblock at 64 KiB).
pub const PROBE_LEN: usize = 0x10000 + 0x12b + 256;

/// The first [`PROBE_LEN`] bytes of a device (fewer when it is shorter):
/// everything [`identify`] and [`file_system`] look at.
pub fn read_head(device: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut head = Vec::with_capacity(PROBE_LEN);
    std::fs::File::open(device)?
        .take(PROBE_LEN as u64)
        .read_to_end(&mut head)?;
    Ok(head)
}

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

/// A file system's kind as `mount -t` names it, its label and its UUID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileSystem {
    pub kind: &'static str,
    pub label: String,
    pub uuid: String,
}

/// The file system at the start of a device (not a partition table), with
/// its label and UUID where the format has them.
pub fn file_system(head: &[u8]) -> Option<FileSystem> {
    let field = |at: usize, len: usize| head.get(at..at + len).unwrap_or_default();
    let (kind, label, uuid) = match identify(head)? {
        "ext2/3/4" => {
            // Without the journal feature it is ext2; ext4 mounts both.
            (
                "ext4",
                text(field(1024 + 120, 16)),
                dashed(field(1024 + 104, 16)),
            )
        }
        "xfs" => ("xfs", text(field(108, 12)), dashed(field(32, 16))),
        "btrfs" => (
            "btrfs",
            text(field(0x10000 + 0x12b, 256)),
            dashed(field(0x10000 + 0x20, 16)),
        ),
        "vfat" => {
            let fat32 = head.get(0x52..0x5a) == Some(b"FAT32   ");
            let (l, id) = if fat32 { (0x47, 0x43) } else { (0x2b, 0x27) };
            let id = field(id, 4);
            let uuid = if id.len() == 4 {
                format!("{:02X}{:02X}-{:02X}{:02X}", id[3], id[2], id[1], id[0])
            } else {
                String::new()
            };
            ("vfat", text(field(l, 11)), uuid)
        }
        "squashfs" => ("squashfs", String::new(), String::new()),
        _ => return None,
    };
    Some(FileSystem { kind, label, uuid })
}

/// A label field: up to the first NUL, trailing spaces dropped, and only if
/// it is text (a label is matched against what a user typed).
fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    std::str::from_utf8(&bytes[..end])
        .map(|s| s.trim_end().to_string())
        .unwrap_or_default()
}

/// 16 bytes as a UUID in the usual 8-4-4-4-12 form; all zeros is none.
fn dashed(bytes: &[u8]) -> String {
    if bytes.len() != 16 || bytes.iter().all(|&b| b == 0) {
        return String::new();
    }
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::{PROBE_LEN, file_system, identify};

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
            .args([
                "-q",
                "-F",
                "-L",
                "DATA",
                "-U",
                "6f1c2b3a-0d4e-4f5a-8b9c-0123456789ab",
            ])
            .arg(&file)
            .status()
            .is_ok_and(|s| s.success());
        if ok {
            let bytes = std::fs::read(&file).unwrap();
            assert_eq!(identify(&bytes[..PROBE_LEN]), Some("ext2/3/4"));
            let fs = file_system(&bytes[..PROBE_LEN]).unwrap();
            assert_eq!(fs.kind, "ext4");
            assert_eq!(fs.label, "DATA");
            assert_eq!(fs.uuid, "6f1c2b3a-0d4e-4f5a-8b9c-0123456789ab");
        }
        let _ = std::fs::remove_file(&file);
        assert!(ok, "mkfs.ext4 (e2fsprogs) is on the host");
    }
}
