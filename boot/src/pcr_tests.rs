use super::*;

use std::process::Command;

use crate::pe::tests::{STUB, SYSTEMD_BOOT, read};
use crate::uki::{self, Sections};

const OSREL: &[u8] = b"ID=cairn\n";
const CMDLINE: &[u8] = b"console=ttyS0 panic=-1";
const INITRD: &[u8] = b"070701 not really a cpio";
const PLAN: &[u8] = b"cairn:phase:enter-initrd\n";

/// A UKI with systemd-boot standing in for the kernel: a PE image, as the
/// firmware's LoadImage needs.
fn uki_with(cmdline: &[u8], plan: &[u8], uname: &[u8]) -> Vec<u8> {
    uki::build(
        &read(STUB),
        &Sections {
            osrel: OSREL,
            cmdline,
            linux: &read(SYSTEMD_BOOT),
            initrd: INITRD,
            uname: Some(uname),
            extra: &[(".cairn", plan)],
        },
    )
    .unwrap()
}

fn sample() -> Vec<u8> {
    uki_with(CMDLINE, PLAN, b"6.1.0")
}

fn sha(data: &[u8]) -> PcrValue {
    Sha256::digest(data).into()
}

#[test]
fn pcr11_is_each_measured_name_with_nul_then_contents_in_the_stubs_table_order() {
    let linux = read(SYSTEMD_BOOT);
    let expected = measure::replay(&[
        sha(b".linux\0"),
        sha(&linux),
        sha(b".osrel\0"),
        sha(OSREL),
        sha(b".cmdline\0"),
        sha(CMDLINE),
        sha(b".initrd\0"),
        sha(INITRD),
    ]);
    assert_eq!(predict(&sample()).unwrap().pcr11, expected);
}

#[test]
fn pcr11_matches_systemd_measure_of_the_same_files() {
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, data: &[u8]| {
        let path = dir.path().join(name);
        std::fs::write(&path, data).unwrap();
        path
    };
    let mut args = Vec::new();
    for (option, data) in [
        ("--linux=", read(SYSTEMD_BOOT)),
        ("--osrel=", OSREL.to_vec()),
        ("--cmdline=", CMDLINE.to_vec()),
        ("--initrd=", INITRD.to_vec()),
    ] {
        let path = file(option.trim_matches(['-', '=']), &data);
        args.push(format!("{option}{}", path.display()));
    }
    let out = Command::new("/usr/lib/systemd/systemd-measure")
        .args(["calculate", "--phase=", "--bank=sha256"])
        .args(&args)
        .output()
        .expect("systemd-measure runs (Debian package systemd)");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let measured = text
        .lines()
        .find_map(|l| l.strip_prefix("11:sha256="))
        .unwrap_or_else(|| panic!("no PCR 11 in systemd-measure output:\n{text}"));
    assert_eq!(
        hex::encode(predict(&sample()).unwrap().pcr11),
        measured.trim()
    );
}

#[test]
fn pcr4_is_boot_action_separator_uki_digest_then_kernel_digest() {
    let uki = sample();
    let expected = measure::replay(&[
        sha(b"Calling EFI Application from Boot Option"),
        sha(&[0, 0, 0, 0]),
        pe::authenticode_sha256(&uki).unwrap(),
        pe::authenticode_sha256(&read(SYSTEMD_BOOT)).unwrap(),
    ]);
    assert_eq!(predict(&uki).unwrap().pcr4, expected);
}

#[test]
fn prediction_is_stable_and_one_cmdline_byte_changes_both_pcrs() {
    let base = predict(&sample()).unwrap();
    assert_eq!(predict(&sample()).unwrap(), base);
    let changed = predict(&uki_with(b"console=ttyS0 panic=-2", PLAN, b"6.1.0")).unwrap();
    assert_ne!(changed.pcr4, base.pcr4);
    assert_ne!(changed.pcr11, base.pcr11);
}

#[test]
fn unmeasured_sections_change_pcr4_only() {
    let base = predict(&sample()).unwrap();
    for changed in [
        uki_with(CMDLINE, b"cairn:phase:leave-initrd\n", b"6.1.0"),
        uki_with(CMDLINE, PLAN, b"6.1.1"),
    ] {
        let changed = predict(&changed).unwrap();
        assert_ne!(changed.pcr4, base.pcr4);
        assert_eq!(changed.pcr11, base.pcr11);
    }
}

/// The UKI with the header of section `from` renamed to `to`.
fn renamed(uki: &[u8], from: &[u8], to: &[u8; 8]) -> Vec<u8> {
    let pe = pe::parse(uki).unwrap();
    let index = pe.sections.iter().position(|s| s.name() == from).unwrap();
    let at = pe.section_table_offset() + index * pe::SECTION_HEADER_LEN;
    let mut out = uki.to_vec();
    out[at..at + 8].copy_from_slice(to);
    out
}

#[test]
fn a_pcrsig_section_is_not_measured_but_a_splash_section_is() {
    let base = predict(&sample()).unwrap().pcr11;
    let pcrsig = renamed(&sample(), b".cairn", b".pcrsig\0");
    assert_eq!(predict(&pcrsig).unwrap().pcr11, base);
    let splash = renamed(&sample(), b".cairn", b".splash\0");
    assert_ne!(predict(&splash).unwrap().pcr11, base);
}

#[test]
fn a_virtual_size_past_the_raw_data_is_measured_zero_filled() {
    let uki = sample();
    let pe = pe::parse(&uki).unwrap();
    let index = pe
        .sections
        .iter()
        .position(|s| s.name() == b".cmdline")
        .unwrap();
    let loaded = pe.sections[index].raw_size + 100;
    let at = pe.section_table_offset() + index * pe::SECTION_HEADER_LEN + 8;
    let mut longer = uki.clone();
    longer[at..at + 4].copy_from_slice(&loaded.to_le_bytes());
    let mut cmdline = CMDLINE.to_vec();
    cmdline.resize(loaded as usize, 0);
    let expected = measure::replay(&[
        sha(b".linux\0"),
        sha(&read(SYSTEMD_BOOT)),
        sha(b".osrel\0"),
        sha(OSREL),
        sha(b".cmdline\0"),
        sha(&cmdline),
        sha(b".initrd\0"),
        sha(INITRD),
    ]);
    assert_eq!(predict(&longer).unwrap().pcr11, expected);
}

#[test]
fn a_uki_without_a_pe_kernel_cannot_be_predicted() {
    assert!(matches!(predict(&read(STUB)), Err(PcrError::NoKernel)));
    let not_pe = uki::build(
        &read(STUB),
        &Sections {
            osrel: OSREL,
            cmdline: CMDLINE,
            linux: b"not a kernel",
            initrd: INITRD,
            uname: None,
            extra: &[],
        },
    )
    .unwrap();
    assert!(matches!(predict(&not_pe), Err(PcrError::Kernel { .. })));
    assert!(matches!(predict(b"MZ"), Err(PcrError::Uki { .. })));
}
