//! The writer checked with dosfstools and mtools, and the reader checked on
//! volumes those tools made.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use super::*;
pub(super) use crate::test_bytes::pattern;

const OPTS: Options = Options {
    volume_id: 0x1234_ABCD,
    label: *b"ESP        ",
};

struct Sample {
    boot: Vec<u8>,
    conf: Vec<u8>,
    long: Vec<u8>,
}

impl Sample {
    fn new() -> Sample {
        Sample {
            boot: pattern(3 * 1024 * 1024 + 123, 1),
            conf: b"timeout 0\ndefault cairn\n".to_vec(),
            long: pattern(70_000, 2),
        }
    }

    /// EFI/BOOT/BOOTX64.EFI, a second directory, an empty file and long
    /// names, written into a new file of `size` bytes.
    fn write(&self, path: &Path, size: u64) -> Result<()> {
        let (mut boot, mut conf, mut long) = (&self.boot[..], &self.conf[..], &self.long[..]);
        let mut empty = std::io::empty();
        let mut files = [
            File {
                path: "EFI/BOOT/BOOTX64.EFI",
                size: self.boot.len() as u64,
                data: &mut boot,
            },
            File {
                path: "loader/loader.conf",
                size: self.conf.len() as u64,
                data: &mut conf,
            },
            File {
                path: "EFI/BOOT/EMPTY",
                size: 0,
                data: &mut empty,
            },
            File {
                path: "EFI/Linux/cairn system image, version 1.efi",
                size: self.long.len() as u64,
                data: &mut long,
            },
        ];
        let mut out = fs::File::create(path).expect("create the image");
        write(&mut out, size, &OPTS, &mut files)
    }
}

pub(super) fn run(cmd: &mut Command) -> Output {
    let out = cmd
        .output()
        .expect("the host tool is installed (scripts/install-deps)");
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// fsck.fat prints its version, then one summary line; any complaint adds lines.
pub(super) fn assert_fsck_clean(img: &Path) {
    let out = run(Command::new("fsck.fat").arg("-n").arg(img));
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "fsck.fat -n has something to say:\n{text}");
    assert!(lines[1].contains(" files, "), "{text}");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn fsck_fat_finds_nothing_to_complain_about() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    let sample = Sample::new();
    sample
        .write(&img, partition_size(4 << 20, 4))
        .expect("write");
    assert_fsck_clean(&img);
    // With -v fsck.fat describes the boot sector and lists each check;
    // anything else is a complaint.
    let out = run(Command::new("fsck.fat").args(["-n", "-v", "-l"]).arg(&img));
    let text = String::from_utf8_lossy(&out.stdout);
    let known = [
        "fsck.fat ",
        "Checking we can access the last sector",
        "Boot sector contents:",
        "System ID \"CAIRN   \"",
        "Media byte 0xf8",
        "First FAT starts at",
        "Root directory start at cluster 2",
        "Data area starts at",
        "32 sectors/track, 64 heads",
        "Checking file /",
        "Checking for unused clusters.",
        "Checking free cluster summary.",
    ];
    for line in text.lines() {
        let ok = known.iter().any(|k| line.starts_with(k))
            || line.trim_start().starts_with(|c: char| c.is_ascii_digit())
            || line.starts_with(&img.display().to_string());
        assert!(ok, "fsck.fat -v says {line:?}:\n{text}");
    }
    assert!(
        text.contains("Checking file /EFI/BOOT/BOOTX64.EFI"),
        "{text}"
    );
    assert!(
        text.contains("/EFI/Linux/cairn system image, version 1.efi"),
        "{text}"
    );
    assert!(text.contains("9 files, "), "{text}");
}

#[test]
fn mtools_list_the_files_and_copy_back_identical_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    let sample = Sample::new();
    sample
        .write(&img, partition_size(4 << 20, 4))
        .expect("write");

    let out = run(Command::new("mdir")
        .args(["-b", "-i"])
        .arg(&img)
        .arg("::/EFI/BOOT"));
    let listing = String::from_utf8_lossy(&out.stdout);
    assert!(listing.contains("::/EFI/BOOT/BOOTX64.EFI"), "{listing}");
    assert!(listing.contains("::/EFI/BOOT/EMPTY"), "{listing}");
    let out = run(Command::new("mdir").args(["-i"]).arg(&img).arg("::/"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("Volume in drive : is ESP"));

    for (inside, want) in [
        ("::/EFI/BOOT/BOOTX64.EFI", &sample.boot),
        ("::/loader/loader.conf", &sample.conf),
        (
            "::/EFI/Linux/cairn system image, version 1.efi",
            &sample.long,
        ),
        ("::/EFI/BOOT/EMPTY", &Vec::new()),
    ] {
        let copy = dir.path().join("copy");
        run(Command::new("mcopy")
            .args(["-o", "-n", "-i"])
            .arg(&img)
            .arg(inside)
            .arg(&copy));
        let got = fs::read(&copy).expect("read the copy");
        assert!(
            got == *want,
            "{inside} came back different ({} bytes)",
            got.len()
        );
    }
}

#[test]
fn read_file_returns_what_was_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    let sample = Sample::new();
    sample
        .write(&img, partition_size(4 << 20, 4))
        .expect("write");
    let mut part = fs::File::open(&img).expect("open");
    assert!(read_file(&mut part, "EFI/BOOT/BOOTX64.EFI").expect("read") == sample.boot);
    assert!(read_file(&mut part, "efi/boot/bootx64.efi").expect("read") == sample.boot);
    assert_eq!(
        read_file(&mut part, "LOADER/Loader.Conf").expect("read"),
        sample.conf
    );
    assert!(
        read_file(&mut part, "EFI/LINUX/CAIRN SYSTEM IMAGE, VERSION 1.EFI").expect("read")
            == sample.long
    );
    assert!(read_file(&mut part, "EFI/Linux/CAIRNS~1.EFI").expect("read") == sample.long);
    assert_eq!(read_file(&mut part, "EFI/BOOT/EMPTY").expect("read"), b"");
}

#[test]
fn two_writes_give_identical_images() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (dir.path().join("a.img"), dir.path().join("b.img"));
    let sample = Sample::new();
    let size = partition_size(4 << 20, 4);
    sample.write(&a, size).expect("write a");
    sample.write(&b, size).expect("write b");
    let (a, b) = (fs::read(a).expect("read a"), fs::read(b).expect("read b"));
    assert_eq!(a.len() as u64, size);
    assert!(a == b, "the images differ");
}

#[test]
fn files_too_big_for_the_partition_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    let mut data: &[u8] = &[0u8; 0];
    let size = 33 << 20;
    let mut files = [File {
        path: "BIG.BIN",
        size: 34 << 20,
        data: &mut data,
    }];
    let mut out = fs::File::create(&img).expect("create");
    let err = write(&mut out, size, &OPTS, &mut files).expect_err("too big");
    assert!(matches!(err, FatError::DoesNotFit { .. }), "{err}");
}

/// A volume made by mkfs.fat and filled by mcopy: long names, lower-case
/// short names and the time stamps the tools write.
#[test]
fn read_file_finds_files_that_mtools_wrote() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("tools.img");
    run(Command::new("mkfs.fat")
        .args(["-F", "32", "-C", "-n", "TOOLS"])
        .arg(&img)
        .arg("40000"));
    let long = pattern(200_000, 7);
    let short = b"hello\n".to_vec();
    fs::write(dir.path().join("a rather long file name.data"), &long).expect("write");
    fs::write(dir.path().join("hello.txt"), &short).expect("write");
    run(Command::new("mmd")
        .arg("-i")
        .arg(&img)
        .arg("::/EFI")
        .arg("::/EFI/Linux"));
    run(Command::new("mcopy")
        .arg("-i")
        .arg(&img)
        .arg(dir.path().join("a rather long file name.data"))
        .arg(dir.path().join("hello.txt"))
        .arg("::/EFI/Linux/"));
    let mut part = fs::File::open(&img).expect("open");
    let got = read_file(&mut part, "efi/linux/A Rather Long File Name.data").expect("long name");
    assert!(got == long);
    assert_eq!(
        read_file(&mut part, "EFI/Linux/hello.txt").expect("short name"),
        short
    );
    let err = read_file(&mut part, "EFI/Linux/nothing").expect_err("absent");
    assert!(matches!(err, FatError::NotFound { .. }), "{err}");
}

#[test]
fn boot_code_disassembles_to_the_not_bootable_stub() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    Sample::new().write(&img, 33 << 20).expect("write");
    let bytes = fs::read(&img).expect("read");
    let code = dir.path().join("boot.bin");
    fs::write(&code, &bytes[..512]).expect("write");
    // The BPB is data: disassemble the jump, then the stub it jumps to.
    let objdump = |from: u32, to: u32| {
        let out = run(Command::new("objdump")
            .args(["-D", "-b", "binary", "-m", "i8086", "--adjust-vma=0x7c00"])
            .arg(format!("--start-address={from:#x}"))
            .arg(format!("--stop-address={to:#x}"))
            .arg(&code));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(objdump(0x7c00, 0x7c02).contains("jmp    0x7c5a"));
    let text = objdump(0x7c5a, 0x7c75);
    let ops: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split('\t').nth(2))
        .map(str::trim)
        .collect();
    let want = [
        "push   %cs",
        "pop    %ds",
        "mov    $0x7c75,%si",
        "lods   %ds:(%si),%al",
        "test   %al,%al",
        "je     0x7c6d",
        "mov    $0xe,%ah",
        "mov    $0x7,%bx",
        "int    $0x10",
        "jmp    0x7c5f",
        "xor    %ah,%ah",
        "int    $0x16",
        "int    $0x19",
        "jmp    0x7c73",
    ];
    assert_eq!(ops, want, "{text}");
    assert!(bytes[0x75..].starts_with(b"This is an EFI system partition"));
}

#[test]
fn partitions_from_tiny_to_a_hundred_megabytes_pass_fsck() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (total, count) in [
        (100u64, 1usize),
        (1 << 20, 3),
        (20 << 20, 2),
        (100 << 20, 5),
    ] {
        let per = (total / count as u64) as usize;
        let datas: Vec<Vec<u8>> = (0..count).map(|i| pattern(per, i as u64 + 11)).collect();
        let mut readers: Vec<&[u8]> = datas.iter().map(|d| &d[..]).collect();
        let names: Vec<String> = (0..count)
            .map(|i| format!("EFI/Linux/part{i}.efi"))
            .collect();
        let mut files: Vec<File> = readers
            .iter_mut()
            .zip(&names)
            .map(|(r, name)| File {
                path: name,
                size: per as u64,
                data: r,
            })
            .collect();
        let size = partition_size(per as u64 * count as u64, count);
        assert_eq!(size % (1 << 20), 0);
        assert!(size >= 33 << 20);
        let img = dir.path().join("esp.img");
        let mut out = fs::File::create(&img).expect("create");
        write(&mut out, size, &OPTS, &mut files).expect("files fit the size partition_size gave");
        drop(out);
        assert_fsck_clean(&img);
        let mut part = fs::File::open(&img).expect("open");
        let last = format!("EFI/Linux/part{}.efi", count - 1);
        assert!(read_file(&mut part, &last).expect("read") == datas[count - 1]);
    }
}

#[test]
fn larger_clusters_and_directories_over_many_clusters_pass_fsck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("esp.img");
    let sample = Sample::new();
    // 2 KiB and 4 KiB clusters; the free space stays sparse.
    for size in [200 << 20, 300 << 20] {
        sample.write(&img, size).expect("write");
        assert_fsck_clean(&img);
        let mut part = fs::File::open(&img).expect("open");
        assert!(read_file(&mut part, "EFI/BOOT/BOOTX64.EFI").expect("read") == sample.boot);
    }

    // 300 long names take about 1200 entries: 75 clusters of 512 bytes.
    let names: Vec<String> = (0..300)
        .map(|i| format!("EFI/Linux/cairn-{i:03}-a-long-name.efi"))
        .collect();
    let datas: Vec<Vec<u8>> = (0..300).map(|i| pattern(i * 7, i as u64)).collect();
    let mut readers: Vec<&[u8]> = datas.iter().map(|d| &d[..]).collect();
    let mut files: Vec<File> = readers
        .iter_mut()
        .zip(&names)
        .zip(&datas)
        .map(|((r, path), d)| File {
            path,
            size: d.len() as u64,
            data: r,
        })
        .collect();
    let mut out = fs::File::create(&img).expect("create");
    write(&mut out, 33 << 20, &OPTS, &mut files).expect("write");
    drop(out);
    assert_fsck_clean(&img);
    let out = run(Command::new("mdir")
        .args(["-b", "-i"])
        .arg(&img)
        .arg("::/EFI/Linux"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 300);
    let mut part = fs::File::open(&img).expect("open");
    let got = read_file(&mut part, "efi/linux/CAIRN-299-A-LONG-NAME.EFI").expect("read");
    assert!(got == datas[299]);
}
