//! Adding and removing files in place, checked with the reader, fsck.fat
//! and mtools, and stopped after every write to stand for a power loss.

use std::fs;
use std::io::{self, Cursor, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use super::geometry::Geometry;
use super::host_tests::{assert_fsck_clean, pattern, run};
use super::read::{Listed, Volume};
use super::*;

const MIB: u64 = 1 << 20;
const OPTS: Options = Options {
    volume_id: 0x0C0F_FEE0,
    label: *b"ESP        ",
};
const LINUX: &str = "EFI/Linux";

/// An ESP as cairn writes it, in 33 MiB (512-byte clusters, so a
/// directory's first cluster holds 16 entries).
struct Esp {
    boot: Vec<u8>,
    conf: Vec<u8>,
    uki: Vec<u8>,
}

impl Esp {
    fn new() -> Esp {
        Esp {
            boot: pattern(200_000, 21),
            conf: b"timeout 0\ndefault cairn-*\n".to_vec(),
            uki: pattern(150_000, 22),
        }
    }

    fn image(&self) -> Vec<u8> {
        let (mut boot, mut conf, mut uki) = (&self.boot[..], &self.conf[..], &self.uki[..]);
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
                path: "EFI/Linux/cairn-1.efi",
                size: self.uki.len() as u64,
                data: &mut uki,
            },
        ];
        let mut out = Cursor::new(vec![0u8; 33 * MIB as usize]);
        write(&mut out, 33 * MIB, &OPTS, &mut files).expect("write the ESP");
        out.into_inner()
    }

    /// The files `fat::write` put there read back unchanged.
    fn assert_intact(&self, img: &[u8], with_uki: bool) {
        let mut part = Cursor::new(img);
        assert!(read_file(&mut part, "EFI/BOOT/BOOTX64.EFI").expect("boot") == self.boot);
        assert_eq!(
            read_file(&mut part, "loader/loader.conf").expect("conf"),
            self.conf
        );
        if with_uki {
            assert!(read_file(&mut part, "EFI/Linux/cairn-1.efi").expect("uki") == self.uki);
        }
    }
}

fn add(img: &mut Vec<u8>, dir: &str, name: &str, data: &[u8]) -> Result<()> {
    add_file(
        &mut Cursor::new(img),
        dir,
        name,
        data.len() as u64,
        &mut &data[..],
    )
}

fn remove(img: &mut Vec<u8>, path: &str) -> Result<()> {
    remove_file(&mut Cursor::new(img), path)
}

fn entry(img: &[u8], dir: &str, name: &str) -> Listed {
    let mut part = Cursor::new(img);
    let mut vol = Volume::open(&mut part, name).expect("open");
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let d = vol.find_dir(&parts).expect("the directory");
    vol.lookup(d, name, name)
        .expect("lookup")
        .expect("the entry")
}

/// The raw 32 bytes of an entry and the clusters of its directory.
fn raw_entry(img: &[u8], dir: &str, name: &str) -> ([u8; 32], Vec<u32>) {
    let e = entry(img, dir, name);
    let mut part = Cursor::new(img);
    let mut vol = Volume::open(&mut part, name).expect("open");
    let parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    let d = vol.find_dir(&parts).expect("the directory");
    let folder = vol.folder(d, dir).expect("folder");
    let mut raw = [0u8; 32];
    raw.copy_from_slice(&folder.bytes[e.slot * 32..][..32]);
    (raw, folder.clusters)
}

/// The runs of a file's cluster chain.
fn runs(img: &[u8], dir: &str, name: &str) -> Vec<(u32, u64)> {
    let e = entry(img, dir, name);
    let mut part = Cursor::new(img);
    let mut vol = Volume::open(&mut part, name).expect("open");
    let (runs, ended) = vol.runs(e.cluster, 1 << 20, name).expect("chain");
    assert!(ended);
    runs
}

fn on_disk(dir: &Path, img: &[u8]) -> PathBuf {
    let path = dir.join("esp.img");
    fs::write(&path, img).expect("write the image");
    path
}

fn mcopy(img: &Path, inside: &str) -> Vec<u8> {
    let copy = img.with_file_name("copy");
    run(Command::new("mcopy")
        .args(["-o", "-n", "-i"])
        .arg(img)
        .arg(format!("::/{inside}"))
        .arg(&copy));
    fs::read(&copy).expect("read the copy")
}

#[test]
fn an_added_file_reads_back_with_the_reader_fsck_and_mtools() {
    let esp = Esp::new();
    let mut img = esp.image();
    let new = pattern(300 * 1024 + 17, 23);
    add(&mut img, LINUX, "cairn-2+3.efi", &new).expect("add");

    let mut part = Cursor::new(&img[..]);
    assert!(read_file(&mut part, "EFI/Linux/cairn-2+3.efi").expect("read") == new);
    // cairn-1.efi has CAIRN-~1.EFI; `+` becomes `_` and is cut off.
    assert!(read_file(&mut part, "efi/linux/CAIRN-~2.EFI").expect("alias") == new);
    assert_eq!(
        list_files(&mut part, LINUX).expect("list"),
        ["cairn-1.efi", "cairn-2+3.efi"]
    );
    esp.assert_intact(&img, true);
    // An archive entry with the FAT epoch in every time stamp, as the
    // writer makes them.
    let (raw, _) = raw_entry(&img, LINUX, "cairn-2+3.efi");
    assert_eq!(&raw[..12], b"CAIRN-~2EFI\x20");
    assert_eq!(&raw[13..20], &[0, 0, 0, 0x21, 0, 0x21, 0]);
    assert_eq!(&raw[22..26], &[0, 0, 0x21, 0]);
    assert_eq!(
        u32::from_le_bytes([raw[28], raw[29], raw[30], raw[31]]),
        307_217
    );
    // The first free clusters, in one run.
    assert_eq!(runs(&img, LINUX, "cairn-2+3.efi").len(), 1);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = on_disk(dir.path(), &img);
    assert_fsck_clean(&path);
    let out = run(Command::new("mtype")
        .arg("-i")
        .arg(&path)
        .arg("::/EFI/Linux/cairn-2+3.efi"));
    assert!(out.stdout == new, "mtype gave {} bytes", out.stdout.len());
    assert!(mcopy(&path, "EFI/Linux/cairn-2+3.efi") == new);
    assert!(mcopy(&path, "EFI/Linux/cairn-1.efi") == esp.uki);
    let out = run(Command::new("mdir")
        .args(["-b", "-i"])
        .arg(&path)
        .arg("::/EFI/Linux"));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .collect::<Vec<_>>(),
        ["::/EFI/Linux/cairn-1.efi", "::/EFI/Linux/cairn-2+3.efi"]
    );
}

#[test]
fn a_removed_file_frees_its_clusters_for_the_next_one() {
    let esp = Esp::new();
    let mut img = esp.image();
    let second = pattern(300 * 1024, 24);
    add(&mut img, LINUX, "cairn-2+3.efi", &second).expect("add");
    let old = runs(&img, LINUX, "cairn-1.efi");
    assert_eq!(old.len(), 1);

    remove(&mut img, "EFI/Linux/CAIRN-1.EFI").expect("remove");
    let e = read_file(&mut Cursor::new(&img[..]), "EFI/Linux/cairn-1.efi").expect_err("gone");
    assert!(matches!(e, FatError::NotFound { .. }), "{e}");
    assert_eq!(
        list_files(&mut Cursor::new(&img[..]), LINUX).expect("list"),
        ["cairn-2+3.efi"]
    );
    let dir = tempfile::tempdir().expect("tempdir");
    assert_fsck_clean(&on_disk(dir.path(), &img));

    // Smaller than the hole cairn-1.efi left: first fit puts it there, in
    // its deleted entries' slots.
    let third = pattern(100_000, 25);
    add(&mut img, LINUX, "cairn-3.efi", &third).expect("add");
    let now = runs(&img, LINUX, "cairn-3.efi");
    assert_eq!(now, [(old[0].0, 100_000u64.div_ceil(512))]);
    assert_eq!(
        list_files(&mut Cursor::new(&img[..]), LINUX).expect("list"),
        ["cairn-3.efi", "cairn-2+3.efi"]
    );
    // Larger than what is left of the hole: after the last file.
    let fourth = pattern(100_000, 26);
    add(&mut img, LINUX, "cairn-4.efi", &fourth).expect("add");
    let after = runs(&img, LINUX, "cairn-2+3.efi");
    let last = after[0].0 as u64 + after[0].1;
    assert_eq!(runs(&img, LINUX, "cairn-4.efi"), [(last as u32, 196)]);

    let path = on_disk(dir.path(), &img);
    assert_fsck_clean(&path);
    esp.assert_intact(&img, false);
    let mut part = Cursor::new(&img[..]);
    assert!(read_file(&mut part, "EFI/Linux/cairn-2+3.efi").expect("second") == second);
    assert!(read_file(&mut part, "EFI/Linux/cairn-3.efi").expect("third") == third);
    assert!(mcopy(&path, "EFI/Linux/cairn-3.efi") == third);
    assert!(mcopy(&path, "EFI/Linux/cairn-4.efi") == fourth);
}

#[test]
fn a_file_no_free_run_can_hold_is_split_over_the_first_free_clusters() {
    // Ten files of 20 clusters, then one that fills the volume.
    let geo = Geometry::for_size(33 * MIB).expect("geometry");
    let small: Vec<Vec<u8>> = (0..10).map(|i| pattern(20 * 512, 30 + i)).collect();
    let fill = (u64::from(geo.clusters) - 1 - 200) * 512;
    let names: Vec<String> = (0..10).map(|i| format!("A{i}")).collect();
    let mut readers: Vec<&[u8]> = small.iter().map(|d| &d[..]).collect();
    let mut zero = io::repeat(0).take(fill);
    let mut files: Vec<File> = (readers.iter_mut().zip(&names))
        .map(|(r, path)| File {
            path,
            size: 20 * 512,
            data: r,
        })
        .collect();
    files.push(File {
        path: "FILL",
        size: fill,
        data: &mut zero,
    });
    let mut out = Cursor::new(vec![0u8; 33 * MIB as usize]);
    write(&mut out, 33 * MIB, &OPTS, &mut files).expect("write");
    let mut img = out.into_inner();

    let holes: Vec<u32> = ["A1", "A3", "A5"]
        .iter()
        .map(|name| {
            let start = runs(&img, "", name)[0].0;
            remove(&mut img, name).expect("remove");
            start
        })
        .collect();
    let big = pattern(50 * 512 - 3, 40);
    add(&mut img, "", "big file.bin", &big).expect("add");
    assert_eq!(
        runs(&img, "", "big file.bin"),
        [(holes[0], 20), (holes[1], 20), (holes[2], 10)]
    );
    assert!(read_file(&mut Cursor::new(&img[..]), "BIG FILE.BIN").expect("read") == big);

    let before = img.clone();
    let e = add(&mut img, "", "more", &pattern(11 * 512, 41)).expect_err("full");
    assert!(
        matches!(&e, FatError::Full { path, need, free } if path == "more" && *need == 11 * 512 && *free == 10 * 512),
        "{e}"
    );
    assert!(img == before, "a refused file changed the volume");
    add(&mut img, "", "last", &pattern(10 * 512, 42)).expect("the last clusters");

    let dir = tempfile::tempdir().expect("tempdir");
    let path = on_disk(dir.path(), &img);
    assert_fsck_clean(&path);
    assert!(mcopy(&path, "big file.bin") == big);
    for i in [0, 2, 4, 6, 7, 8, 9] {
        assert!(mcopy(&path, &format!("A{i}")) == small[i], "A{i}");
    }
}

#[test]
fn adding_more_entries_than_the_first_cluster_holds_grows_the_folder() {
    let esp = Esp::new();
    let mut img = esp.image();
    assert_eq!(raw_entry(&img, LINUX, "cairn-1.efi").1.len(), 1);
    // `.`, `..` and cairn-1.efi take 4 of the 16 entries; each of these 2,
    // so they fill a second cluster to its end.
    let mut names: Vec<String> = (10..24).map(|i| format!("cairn-{i}.efi")).collect();
    for (i, name) in names.iter().enumerate() {
        add(&mut img, LINUX, name, &pattern(1000 + i, i as u64)).expect(name);
    }
    assert_eq!(raw_entry(&img, LINUX, "cairn-1.efi").1.len(), 2);
    // 18 entries: more than a cluster holds, so two clusters more.
    let long = format!("cairn-{}.efi", "x".repeat(200));
    add(&mut img, LINUX, &long, b"long").expect("long name");
    let (_, clusters) = raw_entry(&img, LINUX, &long);
    assert_eq!(clusters.len(), 4);

    names.insert(0, "cairn-1.efi".to_string());
    names.push(long.clone());
    let mut part = Cursor::new(&img[..]);
    assert_eq!(list_files(&mut part, LINUX).expect("list"), names);
    for (i, name) in names[1..15].iter().enumerate() {
        let got = read_file(&mut part, &format!("{LINUX}/{name}")).expect(name);
        assert!(got == pattern(1000 + i, i as u64), "{name}");
    }
    assert_eq!(
        read_file(&mut part, &format!("{LINUX}/{long}")).expect("long"),
        b"long"
    );
    esp.assert_intact(&img, true);

    let dir = tempfile::tempdir().expect("tempdir");
    let path = on_disk(dir.path(), &img);
    assert_fsck_clean(&path);
    let out = run(Command::new("mdir")
        .args(["-b", "-i"])
        .arg(&path)
        .arg("::/EFI/Linux"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 16);
    assert_eq!(mcopy(&path, &format!("{LINUX}/{long}")), b"long");
}

#[test]
fn a_full_volume_or_a_taken_name_is_refused_and_nothing_changes() {
    let mut img = Esp::new().image();
    let before = img.clone();
    let mut never = io::repeat(7);
    let e = add_file(
        &mut Cursor::new(&mut img),
        LINUX,
        "big.efi",
        40 * MIB,
        &mut never,
    )
    .expect_err("too big");
    assert!(
        matches!(&e, FatError::Full { path, need, free } if path == "EFI/Linux/big.efi" && *need == 40 * MIB && *free < 33 * MIB),
        "{e}"
    );
    for (dir, name) in [
        ("efi/linux", "CAIRN-1.EFI"),
        (LINUX, "Cairn-1.Efi"),
        (LINUX, "CAIRN-~1.EFI"),
        ("EFI", "boot"),
        ("/loader/", "LOADER.CONF"),
    ] {
        let e = add(&mut img, dir, name, b"x").expect_err(name);
        assert!(matches!(e, FatError::Exists { .. }), "{dir}/{name}: {e}");
    }
    let e = add(&mut img, "EFI/Nope", "a.efi", b"x").expect_err("no such directory");
    assert!(
        matches!(&e, FatError::NotFound { path } if path == "EFI/Nope"),
        "{e}"
    );
    for name in ["a:b", "a/b", "", "end."] {
        let e = add(&mut img, LINUX, name, b"x").expect_err(name);
        assert!(matches!(e, FatError::BadName { .. }), "{name:?}: {e}");
    }
    let mut short = io::repeat(1).take(10);
    let e = add_file(&mut Cursor::new(&mut img), LINUX, "a.efi", 10, &mut short);
    e.expect("ten bytes as announced");
    assert!(img != before);
    let mut img = before.clone();
    let mut short = io::repeat(1).take(9);
    let e = add_file(&mut Cursor::new(&mut img), LINUX, "a.efi", 10, &mut short)
        .expect_err("one byte short");
    assert!(matches!(e, FatError::SizeMismatch { got: 9, .. }), "{e}");
    // Only free clusters were written: the volume lists nothing new.
    assert_eq!(
        list_files(&mut Cursor::new(&img[..]), LINUX).expect("list"),
        ["cairn-1.efi"]
    );
    img = before.clone();
    let e = add(&mut img, LINUX, "x", &[]).map(drop);
    e.expect("an empty file");
    assert_eq!(
        read_file(&mut Cursor::new(&img[..]), "EFI/Linux/X").expect("empty"),
        b""
    );
    assert_eq!(entry(&img, LINUX, "X").cluster, 0);
}

#[test]
fn removing_what_is_not_a_file_is_refused() {
    let mut img = Esp::new().image();
    let before = img.clone();
    for (path, want) in [
        ("EFI/Linux/cairn-9.efi", "EFI/Linux/cairn-9.efi"),
        ("EFI/Nope/cairn-1.efi", "EFI/Nope"),
        ("loader/loader.conf/x", "loader/loader.conf"),
    ] {
        let e = remove(&mut img, path).expect_err(path);
        assert!(
            matches!(&e, FatError::NotFound { path } if path == want),
            "{e}"
        );
    }
    for path in ["EFI/BOOT", "", "/"] {
        let e = remove(&mut img, path).expect_err(path);
        assert!(matches!(e, FatError::NotAFile { .. }), "{path:?}: {e}");
    }
    assert!(img == before);
    remove(&mut img, "loader/loader.conf").expect("remove");
    let e = remove(&mut img, "loader/loader.conf").expect_err("twice");
    assert!(matches!(e, FatError::NotFound { .. }), "{e}");
}

#[test]
fn chains_that_loop_or_break_are_refused_before_anything_is_written() {
    let esp = Esp::new();
    let img = esp.image();
    let geo = Geometry::for_size(33 * MIB).expect("geometry");
    let set = |img: &mut Vec<u8>, cluster: u32, value: u32| {
        for copy in 0..2 {
            let at = (geo.fat_offset(copy) + u64::from(cluster) * 4) as usize;
            img[at..at + 4].copy_from_slice(&value.to_le_bytes());
        }
    };
    // EFI/Linux's one cluster leads to itself.
    let (_, clusters) = raw_entry(&img, LINUX, "cairn-1.efi");
    let mut looped = img.clone();
    set(&mut looped, clusters[0], clusters[0]);
    let before = looped.clone();
    let e = add(&mut looped, LINUX, "cairn-2.efi", b"x").expect_err("looped folder");
    assert!(matches!(e, FatError::Corrupt { .. }), "{e}");
    let e = remove(&mut looped, "EFI/Linux/cairn-1.efi").expect_err("looped folder");
    assert!(matches!(e, FatError::Corrupt { .. }), "{e}");
    assert!(looped == before);

    let first = entry(&img, LINUX, "cairn-1.efi").cluster;
    for (cluster, value) in [(first + 5, first), (first + 5, 0x0FFF_FFFF), (first, 0)] {
        let mut broken = img.clone();
        set(&mut broken, cluster, value);
        let before = broken.clone();
        let e = remove(&mut broken, "EFI/Linux/cairn-1.efi").expect_err("broken chain");
        assert!(
            matches!(e, FatError::Corrupt { .. }),
            "{cluster} -> {value:#x}: {e}"
        );
        assert!(broken == before);
    }
}

/// A partition that loses power after `left` more writes.
struct Torn {
    inner: Cursor<Vec<u8>>,
    left: usize,
    writes: usize,
}

impl Write for Torn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.left == 0 {
            return Err(io::Error::other("the power went"));
        }
        self.left -= 1;
        self.writes += 1;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Read for Torn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf)
    }
}

impl Seek for Torn {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        self.inner.seek(to)
    }
}

/// Runs `edit` cut short after every number of writes it makes, and checks
/// each result with `check` once `fsck.fat -a` mended it.
fn cut_after_every_write(
    img: &[u8],
    edit: impl Fn(&mut Torn) -> Result<()>,
    check: impl Fn(&[u8], bool),
) {
    let mut whole = Torn {
        inner: Cursor::new(img.to_vec()),
        left: usize::MAX,
        writes: 0,
    };
    edit(&mut whole).expect("the whole edit");
    let dir = tempfile::tempdir().expect("tempdir");
    for k in 0..=whole.writes {
        let mut torn = Torn {
            inner: Cursor::new(img.to_vec()),
            left: k,
            writes: 0,
        };
        let done = edit(&mut torn).is_ok();
        assert_eq!(done, k == whole.writes, "after {k} writes");
        let path = on_disk(dir.path(), torn.inner.get_ref());
        let out = Command::new("fsck.fat")
            .arg("-a")
            .arg(&path)
            .output()
            .expect("fsck.fat");
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "fsck.fat -a after {k} writes: {}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert_fsck_clean(&path);
        check(&fs::read(&path).expect("read"), done);
    }
}

#[test]
fn a_power_loss_after_any_write_leaves_the_old_files_and_a_volume_fsck_mends() {
    let esp = Esp::new();
    let name = "cairn-2+3, with a name that takes five long entries.efi";
    let new = pattern(3000, 50);
    // EFI/Linux's first cluster left with two free entries, so the new
    // ones start there and go on in a new cluster; then with none.
    for fill in [5, 6] {
        let mut img = esp.image();
        for i in 0..fill {
            add(&mut img, LINUX, &format!("f{i}.efi"), b"x").expect("add");
        }
        cut_after_every_write(
            &img,
            |part| add_file(part, LINUX, name, new.len() as u64, &mut &new[..]),
            |img, done| {
                esp.assert_intact(img, true);
                match read_file(&mut Cursor::new(img), &format!("{LINUX}/{name}")) {
                    Ok(got) => assert!(got == new),
                    Err(FatError::NotFound { .. }) => assert!(!done),
                    Err(e) => panic!("{e}"),
                }
            },
        );
    }
    let img = esp.image();
    cut_after_every_write(
        &img,
        |part| remove_file(part, "EFI/Linux/cairn-1.efi"),
        |img, done| {
            esp.assert_intact(img, false);
            let got = read_file(&mut Cursor::new(img), "EFI/Linux/cairn-1.efi");
            match got {
                Ok(got) => assert!(!done && got == esp.uki),
                Err(FatError::NotFound { .. }) => {}
                Err(e) => panic!("{e}"),
            }
        },
    );
}

#[test]
fn an_alias_never_names_another_file() {
    let mut img = Esp::new().image();
    // CAIRN-~1.EFI is cairn-1.efi's, so this one gets CAIRN-~2.EFI...
    add(&mut img, LINUX, "cairn-~3.efi", b"three").expect("add");
    assert_eq!(&entry(&img, LINUX, "cairn-~3.efi").short, b"CAIRN-~2EFI");
    // ...and this one not CAIRN-~3.EFI, the other's long name.
    add(&mut img, LINUX, "cairn-2.efi", b"two").expect("add");
    assert_eq!(&entry(&img, LINUX, "cairn-2.efi").short, b"CAIRN-~4EFI");
    let mut part = Cursor::new(&img[..]);
    assert_eq!(
        read_file(&mut part, "EFI/Linux/CAIRN-~3.EFI").expect("long"),
        b"three"
    );
    assert_eq!(
        read_file(&mut part, "EFI/Linux/CAIRN-~4.EFI").expect("alias"),
        b"two"
    );
    let e = add(&mut img, LINUX, "CAIRN-~2.EFI", b"x").expect_err("an alias");
    assert!(matches!(e, FatError::Exists { .. }), "{e}");
}
