use super::*;
use crate::run::gpt::{ROOT_ARM64, ROOT_X86_64};
use crate::run::test_disks::{gpt_disk, qcow2_of};

/// The stub `cairn build -f uki` starts from (Debian: systemd-boot-efi).
const X86_STUB: &str = "/usr/lib/systemd/boot/efi/linuxx64.efi.stub";

/// A minimal PE header for `machine`.
fn pe(machine: u16) -> Vec<u8> {
    let mut file = vec![0u8; 0x400];
    file[..2].copy_from_slice(b"MZ");
    file[0x3c..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    file[0x80..0x84].copy_from_slice(b"PE\0\0");
    file[0x84..0x86].copy_from_slice(&machine.to_le_bytes());
    file
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn disks_and_ukis_are_told_apart_by_their_contents() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.img", &[ROOT_X86_64]);
    let q = qcow2_of(&raw, "d.qcow2", &[]);
    let uki = write(dir.path(), "sys.efi", &pe(0xaa64));
    assert_eq!(sniff(&raw).unwrap(), Kind::RawDisk);
    assert_eq!(sniff(&q).unwrap(), Kind::Qcow2Disk);
    assert_eq!(sniff(&uki).unwrap(), Kind::Uki);
    assert_eq!(sniff(Path::new(X86_STUB)).unwrap(), Kind::Uki);
}

#[test]
fn a_bare_kernel_and_other_files_are_refused_with_what_to_pass_instead() {
    let dir = tempfile::tempdir().unwrap();
    let mut bz = pe(0x8664);
    bz[0x202..0x206].copy_from_slice(b"HdrS");
    let kernel = write(dir.path(), "sys-kernel", &bz);
    assert!(matches!(sniff(&kernel), Err(RunError::BareKernel { .. })));
    let text = write(dir.path(), "notes.raw", b"hello");
    let err = sniff(&text).unwrap_err();
    assert!(matches!(err, RunError::UnknownFile { .. }));
    assert!(err.to_string().contains("notes.raw"));
    let mz_only = write(dir.path(), "dos.efi", b"MZ");
    assert!(matches!(sniff(&mz_only), Err(RunError::UnknownFile { .. })));
}

#[test]
fn the_pe_machine_field_tells_a_ukis_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let arm = write(dir.path(), "a.efi", &pe(0xaa64));
    let i386 = write(dir.path(), "i.efi", &pe(0x14c));
    assert_eq!(arch(&arm, Kind::Uki).unwrap(), Arch::Arm64);
    assert_eq!(arch(Path::new(X86_STUB), Kind::Uki).unwrap(), Arch::Amd64);
    let err = arch(&i386, Kind::Uki).unwrap_err();
    assert!(matches!(err, RunError::UnknownArch { .. }));
    assert!(err.to_string().contains("0x014c"), "{err}");
}

#[test]
fn a_disks_architecture_comes_from_its_root_partition_raw_or_qcow2() {
    let dir = tempfile::tempdir().unwrap();
    let raw = gpt_disk(dir.path(), "d.raw", &[ROOT_ARM64]);
    let q = qcow2_of(&raw, "d.qcow2", &[]);
    assert_eq!(arch(&raw, Kind::RawDisk).unwrap(), Arch::Arm64);
    assert_eq!(arch(&q, Kind::Qcow2Disk).unwrap(), Arch::Arm64);
}

#[test]
fn a_disk_that_cannot_tell_asks_for_arch_and_a_broken_one_is_unreadable() {
    let dir = tempfile::tempdir().unwrap();
    let none = gpt_disk(dir.path(), "n.raw", &["8300"]);
    let err = arch(&none, Kind::RawDisk).unwrap_err();
    assert!(matches!(err, RunError::UnknownArch { .. }));
    assert!(err.to_string().contains("--arch"), "{err}");
    let compressed = qcow2_of(&none, "c.qcow2", &["-c"]);
    assert!(matches!(
        arch(&compressed, Kind::Qcow2Disk),
        Err(RunError::UnknownArch { .. })
    ));
    let mut truncated = std::fs::read(&compressed).unwrap();
    truncated.truncate(40);
    let cut = write(dir.path(), "cut.qcow2", &truncated);
    assert!(matches!(
        arch(&cut, Kind::Qcow2Disk),
        Err(RunError::Unreadable { .. })
    ));
}

#[test]
fn a_disk_with_a_bios_boot_partition_and_no_esp_boots_from_the_bios() {
    let dir = tempfile::tempdir().unwrap();
    let uefi = gpt_disk(dir.path(), "u.raw", &[ROOT_X86_64, "ef02"]);
    assert_eq!(firmware(&uefi, Kind::RawDisk).unwrap(), Firmware::Uefi);
    let bios = dir.path().join("b.raw");
    std::fs::copy(&uefi, &bios).unwrap();
    let out = std::process::Command::new("sgdisk")
        .args(["-t", "1:ef02", "-t", "3:8300"])
        .arg(&bios)
        .output()
        .expect("sgdisk");
    assert!(out.status.success());
    assert_eq!(firmware(&bios, Kind::RawDisk).unwrap(), Firmware::Bios);
    let q = qcow2_of(&bios, "b.qcow2", &[]);
    assert_eq!(firmware(&q, Kind::Qcow2Disk).unwrap(), Firmware::Bios);
    assert_eq!(arch(&q, Kind::Qcow2Disk).unwrap(), Arch::Amd64);
}
