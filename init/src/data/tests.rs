//! The data partition against the fake: a cairn disk's GPT in memory, sysfs
//! as files, the data partition's first MiB as its own device.

use std::io::Cursor;

use cairn_boot::gpt::{
    ESP, LINUX_DATA, Layout, Partition, ROOT_X86_64, guid_from, parse_entries, parse_header,
    write_table,
};
use rustix::io::Errno;
use rustix::mount::MountFlags;

use super::*;
use crate::fake::Fake;
use crate::sys::Signal;

const BLOCK: &str = "/sys/class/block";
const VAR_LIB: &str = "/var/lib";

/// What the data partition holds at its start.
#[derive(Clone, Copy)]
pub enum Content {
    Zeros,
    Ext4,
    Junk,
}

/// ESP, root A, slot 3 empty, a 16 MiB data partition last (from 4 MiB):
/// 21 MiB.
pub fn layout() -> Layout {
    Layout::new(&[MIB, 2 * MIB, 16 * MIB]).expect("layout")
}

pub fn cairn_parts() -> Vec<Partition> {
    let l = layout();
    let part = |slot, index: usize, type_guid, name: &str| Partition {
        slot,
        type_guid,
        unique_guid: guid_from(&[name.as_bytes()]),
        name: name.into(),
        first_lba: l.extents[index].first_lba,
        last_lba: l.extents[index].last_lba,
        attrs: 0,
    };
    vec![
        part(1, 0, ESP, "esp"),
        part(2, 1, ROOT_X86_64, "root-a"),
        part(4, 2, LINUX_DATA, "data"),
    ]
}

/// The image as built, on a disk of `disk_bytes` (at least the image).
pub fn disk_with(parts: &[Partition], disk_bytes: u64) -> Vec<u8> {
    let image = layout().disk_bytes;
    let mut disk = Cursor::new(vec![0u8; image as usize]);
    write_table(&mut disk, guid_from(&[b"disk"]), image, parts).expect("write_table");
    let mut disk = disk.into_inner();
    disk.resize(disk_bytes as usize, 0);
    disk
}

/// A booted disk system: `dm-0` is the verified root over `vda2`, and the
/// disk holds `disk` (its sysfs size follows).
pub fn disk_system(disk: Vec<u8>, content: Content) -> Fake {
    let mut sys = Fake::new();
    sys.dirs.insert(
        BLOCK.into(),
        ["dm-0", "loop0", "vda", "vda1", "vda2", "vda4"]
            .map(String::from)
            .to_vec(),
    );
    sys.dirs.insert(
        format!("{BLOCK}/dm-0"),
        ["dm", "holders", "slaves"].map(String::from).to_vec(),
    );
    sys.dirs
        .insert(format!("{BLOCK}/dm-0/slaves"), vec!["vda2".into()]);
    sys.files
        .insert(format!("{BLOCK}/dm-0/dm/name"), format!("{DM_NAME}\n"));
    sys.dirs.insert(
        format!("{BLOCK}/vda"),
        ["queue", "vda1", "vda2", "vda4"].map(String::from).to_vec(),
    );
    sys.files.insert(
        format!("{BLOCK}/vda/size"),
        format!("{}\n", disk.len() / 512),
    );
    for n in [1, 2, 4] {
        let name = format!("vda{n}");
        for at in [format!("{BLOCK}/vda/{name}"), format!("{BLOCK}/{name}")] {
            sys.files
                .insert(format!("{at}/partition"), format!("{n}\n"));
        }
        sys.files
            .insert(format!("{BLOCK}/{name}/dev"), format!("254:{n}\n"));
    }
    sys.blocks.insert("/dev/vda".into(), disk);
    let mut start = vec![0u8; MIB as usize];
    match content {
        Content::Zeros => {}
        Content::Ext4 => start[1080..1082].copy_from_slice(&[0x53, 0xef]),
        Content::Junk => start[MIB as usize - 1] = 1,
    }
    sys.blocks.insert("/dev/vda4".into(), start);
    sys.files.insert(MKE2FS.into(), String::new());
    sys
}

pub fn as_built(content: Content) -> Fake {
    disk_system(disk_with(&cairn_parts(), layout().disk_bytes), content)
}

fn data() -> Data {
    Data {
        mount: VAR_LIB.into(),
    }
}

pub fn run(sys: &mut Fake) {
    mount(sys, Some(&data()));
}

pub const MKE2FS_CALL: &str = "run /usr/sbin/mke2fs -t ext4 -q -L cairn-data /dev/vda4";
pub const MOUNT_CALL: &str = "mount ext4 /var/lib ";

/// The table at `lba` of the fake's disk, checked.
pub fn table_at(sys: &Fake, lba: u64) -> (gpt::Header, Vec<Partition>) {
    let disk = &sys.blocks["/dev/vda"];
    let at = (lba * 512) as usize;
    let header = parse_header(&disk[at..at + 512]).expect("header");
    let array = (header.entries_lba * 512) as usize;
    (
        header,
        parse_entries(&disk[array..], &header).expect("entries"),
    )
}

#[test]
fn a_blank_data_partition_is_formatted_then_mounted() {
    let mut sys = as_built(Content::Zeros);
    run(&mut sys);
    let format = sys.position(MKE2FS_CALL);
    let mounted = sys.position(MOUNT_CALL);
    assert!(format.is_some() && format < mounted, "{:#?}", sys.calls);
    let flags = sys.mount_flags.iter().find(|(t, _)| t == VAR_LIB);
    assert_eq!(
        flags.map(|f| f.1),
        Some(MountFlags::NOSUID | MountFlags::NODEV)
    );
    assert!(sys.logged("data: /dev/vda4 (ext4, 16 MiB) mounted on /var/lib"));
    assert!(sys.calls_starting("pwrite").is_empty(), "{:#?}", sys.calls);
}

#[test]
fn an_ext4_data_partition_is_mounted_as_it_is() {
    let mut sys = as_built(Content::Ext4);
    run(&mut sys);
    assert!(sys.calls_starting("run ").is_empty(), "{:#?}", sys.calls);
    assert!(sys.position(MOUNT_CALL).is_some());
    assert!(sys.logged("data: /dev/vda4 (ext4, 16 MiB) mounted on /var/lib"));
}

#[test]
fn a_partition_holding_something_else_is_never_formatted() {
    let mut sys = as_built(Content::Junk);
    run(&mut sys);
    assert!(sys.calls_starting("run ").is_empty(), "{:#?}", sys.calls);
    assert!(sys.calls_starting("mount ").is_empty());
    assert!(sys.logged(
        "data: /dev/vda4 holds an unknown filesystem (not ext4, and its first MiB is not blank), \
         so it is left alone and never formatted"
    ));
    assert!(sys.logged("/var/lib stays in RAM"));
}

#[test]
fn a_missing_mke2fs_names_the_init_image_that_brings_it() {
    let mut sys = as_built(Content::Zeros);
    sys.files.remove(MKE2FS);
    run(&mut sys);
    assert!(sys.calls_starting("run ").is_empty());
    assert!(sys.calls_starting("mount ").is_empty());
    assert!(sys.logged(
        "data: cannot format /dev/vda4: /usr/sbin/mke2fs is missing; add \
         cairn/e2fsprogs:latest to the config's init images; /var/lib stays in RAM"
    ));
}

#[test]
fn a_failing_mke2fs_is_reported_with_its_exit_status_and_nothing_is_mounted() {
    let mut sys = as_built(Content::Zeros);
    sys.program_status.insert(MKE2FS.into(), Status::Code(1));
    run(&mut sys);
    assert!(sys.position(MKE2FS_CALL).is_some());
    assert!(sys.calls_starting("mount ").is_empty());
    assert!(sys.logged("data: /usr/sbin/mke2fs failed on /dev/vda4 with exit status 1"));
}

#[test]
fn a_failing_mount_is_one_line_and_the_boot_goes_on() {
    let mut sys = as_built(Content::Ext4);
    sys.failing_mounts.insert(VAR_LIB.into(), Errno::NOENT);
    run(&mut sys);
    assert!(sys.logged("data: cannot mount /dev/vda4 (ext4) on /var/lib: "));
    assert!(sys.logged("; /var/lib stays in RAM"));
}

#[test]
fn without_data_in_system_json_nothing_is_done() {
    let mut sys = as_built(Content::Zeros);
    mount(&mut sys, None);
    assert!(sys.calls.is_empty(), "{:#?}", sys.calls);
    assert!(sys.lines.is_empty());
}

#[test]
fn a_root_that_is_not_a_verified_disk_leaves_the_mount_point_in_ram() {
    let mut sys = as_built(Content::Zeros);
    sys.files.remove(&format!("{BLOCK}/dm-0/dm/name"));
    run(&mut sys);
    assert!(sys.calls.is_empty(), "{:#?}", sys.calls);
    assert_eq!(sys.lines.len(), 1);
    assert!(sys.logged(
        "data: the root is not a verified disk (no device-mapper device cairn-root); \
         /var/lib stays in RAM"
    ));
}

#[test]
fn a_verified_root_on_a_whole_disk_has_no_data_partition() {
    let mut sys = as_built(Content::Zeros);
    sys.dirs
        .insert(format!("{BLOCK}/dm-0/slaves"), vec!["vda".into()]);
    run(&mut sys);
    assert!(sys.logged("data: the verified root /dev/vda is a whole disk, not a partition"));
    assert!(sys.calls.is_empty());
}

#[test]
fn a_disk_without_a_data_partition_says_so() {
    let mut parts = cairn_parts();
    parts[2].name = "scratch".into();
    let mut sys = disk_system(disk_with(&parts, layout().disk_bytes), Content::Zeros);
    run(&mut sys);
    assert!(sys.logged(
        "data: /dev/vda has no partition of type linux-data named \"data\"; rebuild the disk"
    ));
    assert!(sys.calls.is_empty());
}

#[test]
fn a_mount_point_that_is_not_absolute_is_refused() {
    for bad in ["var/lib", "/", "/var/../etc"] {
        let mut sys = as_built(Content::Ext4);
        mount(&mut sys, Some(&Data { mount: bad.into() }));
        assert!(sys.logged("is not an absolute path"), "{bad}");
        assert!(sys.calls.is_empty());
    }
    assert_eq!(mount_point("/var/lib/").as_deref(), Some(VAR_LIB));
}

#[test]
fn the_data_partition_is_mounted_before_any_container_or_containerd() {
    let mut sys = as_built(Content::Ext4);
    sys.signals.push_back(Signal::Usr2);
    sys.files.insert(
        system::PATH.into(),
        r#"{"data": {"mount": "/var/lib"}, "volumes": [{"name": "v"}]}"#.into(),
    );
    sys.dirs
        .insert("/containers/onboot".into(), vec!["000-first".into()]);
    sys.dirs
        .insert("/containers/services".into(), vec!["web".into()]);
    crate::boot::run(&mut sys);
    let data = sys.position(MOUNT_CALL).expect("mounted");
    let volume = sys
        .calls
        .iter()
        .position(|c| c.starts_with("mount overlay /containers/volumes/v"));
    let runc = sys.calls.iter().position(|c| c.contains("runc create"));
    let containerd = sys.calls.iter().position(|c| c.contains("containerd"));
    assert!(volume.is_some_and(|v| data < v), "{:#?}", sys.calls);
    assert!(runc.is_some_and(|r| data < r));
    assert!(containerd.is_some_and(|c| data < c));
}

#[test]
fn sizes_read_in_mib_then_gib() {
    assert_eq!(size(16 * MIB), "16 MiB");
    assert_eq!(size(4000 * MIB), "3.9 GiB");
    assert_eq!(size(u64::MAX), "17179869183.9 GiB");
}
