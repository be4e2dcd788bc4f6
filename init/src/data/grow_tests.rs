//! Growing the data partition against the fake: the writes in their order,
//! the table read back, and a power loss after each write.

use cairn_boot::gpt;
use rustix::io::Errno;

use super::super::tests::{
    Content, MKE2FS_CALL, MOUNT_CALL, as_built, cairn_parts, disk_system, disk_with, run, table_at,
};
use crate::data::MIB;
use crate::disk::gpt_scan::{self, Origin};
use crate::fake::Fake;

#[test]
fn the_data_partition_grows_to_the_end_of_a_larger_disk() {
    let big = 40 * MIB;
    let mut sys = disk_system(disk_with(&cairn_parts(), big), Content::Zeros);
    run(&mut sys);
    let last = big / 512 - 1;
    let new_last = 39 * 2048 - 1;
    let writes = sys.calls_starting("pwrite");
    let backup_array = format!("pwrite /dev/vda @{} 16384", (last - 32) * 512);
    let backup_header = format!("pwrite /dev/vda @{} 512", last * 512);
    let expected = [
        backup_array.as_str(),
        backup_header.as_str(),
        "fsync /dev/vda",
        "pwrite /dev/vda @1024 16384",
        "pwrite /dev/vda @512 512",
        "pwrite /dev/vda @0 512",
        "fsync /dev/vda",
        "blkpg resize /dev/vda 4 4194304 36700160",
        MKE2FS_CALL,
        MOUNT_CALL,
    ];
    let first = sys.position(expected[0]).expect("backup array written");
    assert_eq!(sys.calls[first..first + expected.len()], expected);
    assert_eq!(writes.len(), 5);
    assert!(sys.logged("data: grew vda4 from 16 MiB to 35 MiB"));
    assert!(sys.logged("data: /dev/vda4 (ext4, 35 MiB) mounted on /var/lib"));

    let (primary, p_parts) = table_at(&sys, 1);
    let (backup, b_parts) = table_at(&sys, last);
    assert_eq!((primary.alternate_lba, backup.my_lba), (last, last));
    assert_eq!(p_parts, b_parts);
    let before = cairn_parts();
    assert_eq!(p_parts[..2], before[..2]);
    assert_eq!(p_parts[2].first_lba, before[2].first_lba);
    assert_eq!(p_parts[2].last_lba, new_last);
    let mbr = &sys.blocks["/dev/vda"][..512];
    assert_eq!(mbr[446 + 12..446 + 16], ((last) as u32).to_le_bytes());
}

#[test]
fn a_disk_that_is_not_larger_keeps_its_table_untouched() {
    let mut sys = as_built(Content::Ext4);
    let before = sys.blocks["/dev/vda"].clone();
    run(&mut sys);
    assert!(sys.calls_starting("pwrite").is_empty());
    assert!(sys.calls_starting("blkpg").is_empty());
    assert!(sys.blocks["/dev/vda"] == before);
}

#[test]
fn a_data_partition_that_is_not_last_never_grows() {
    let mut parts = cairn_parts();
    // Root A after the data partition.
    let (d, r) = (parts[2].clone(), parts[1].clone());
    parts[1].first_lba = r.first_lba + (d.last_lba - d.first_lba + 1);
    parts[1].last_lba = d.last_lba;
    parts[2].first_lba = r.first_lba;
    parts[2].last_lba = r.first_lba + (d.last_lba - d.first_lba);
    let mut sys = disk_system(disk_with(&parts, 40 * MIB), Content::Ext4);
    run(&mut sys);
    assert!(sys.calls_starting("pwrite").is_empty());
    assert!(
        sys.logged("data: /dev/vda4 is not the last partition of /dev/vda, so it keeps its size")
    );
    assert!(sys.logged("data: /dev/vda4 (ext4, 16 MiB) mounted on /var/lib"));
}

#[test]
fn a_table_another_tool_changed_is_not_rewritten() {
    let mut disk = disk_with(&cairn_parts(), 40 * MIB);
    // A name byte after the NUL: parsed the same, encoded differently.
    let entry = 2 * 512 + 3 * 128;
    disk[entry + 56 + 20] = b'x';
    let crc = gpt::crc32(&disk[1024..1024 + 16384]);
    disk[512 + 88..512 + 92].copy_from_slice(&crc.to_le_bytes());
    disk[512 + 16..512 + 20].fill(0);
    let crc = gpt::crc32(&disk[512..512 + 92]);
    disk[512 + 16..512 + 20].copy_from_slice(&crc.to_le_bytes());
    let mut sys = disk_system(disk, Content::Ext4);
    run(&mut sys);
    assert!(sys.calls_starting("pwrite").is_empty(), "{:#?}", sys.lines);
    assert!(sys.logged("is not laid out as cairn writes it"));
    assert!(sys.position(MOUNT_CALL).is_some());
}

#[test]
fn a_kernel_that_keeps_the_old_size_is_reported_and_the_old_size_is_used() {
    let mut sys = disk_system(disk_with(&cairn_parts(), 40 * MIB), Content::Zeros);
    sys.blkpg_error = Some(Errno::BUSY);
    run(&mut sys);
    assert!(sys.logged(
        "data: the GPT of /dev/vda now gives /dev/vda4 35 MiB, but the kernel kept its old size"
    ));
    assert!(sys.logged("data: /dev/vda4 (ext4, 16 MiB) mounted on /var/lib"));
}

#[test]
fn power_loss_at_any_write_of_the_grow_leaves_a_table_that_boots() {
    let big = 40 * MIB;
    for written in 0..5 {
        let mut sys = disk_system(disk_with(&cairn_parts(), big), Content::Ext4);
        sys.writes_left = Some(written);
        run(&mut sys);
        assert!(
            sys.logged("cannot write the"),
            "{written}: {:#?}",
            sys.lines
        );
        let disk = &sys.blocks["/dev/vda"];
        let mut read_at = |offset: u64, buf: &mut [u8]| {
            let at = offset as usize;
            buf.copy_from_slice(&disk[at..at + buf.len()]);
            Ok(())
        };
        let table = gpt_scan::read_table(&mut read_at, 512, Some(big / 512))
            .unwrap_or_else(|e| panic!("after {written} writes: {e}"));
        let (root, data) = (&table.parts[1], &table.parts[2]);
        assert_eq!(*root, cairn_parts()[1], "{written}");
        assert!(data.last_lba == cairn_parts()[2].last_lba || data.last_lba == 39 * 2048 - 1);
        // A torn primary is read from the backup, which the next boot repairs.
        if written == 3 {
            assert_eq!(table.origin, Origin::Backup);
            let mut again = Fake::new();
            again.dirs = sys.dirs.clone();
            again.files = sys.files.clone();
            again.blocks = sys.blocks.clone();
            run(&mut again);
            assert!(again.logged("data: rewrote the torn primary GPT of /dev/vda from its backup"));
            assert!(
                again.calls_starting("blkpg").is_empty(),
                "{:#?}",
                again.calls
            );
            assert_eq!(table_at(&again, 1).1[2].last_lba, 39 * 2048 - 1);
        }
    }
}
