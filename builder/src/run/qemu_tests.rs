use super::*;

fn machine(arch: Arch) -> Machine {
    Machine {
        arch,
        accel: Accel::Tcg,
        boot: Boot::Kernel {
            kernel: "out/sys-kernel".into(),
            initrd: "out/sys-initrd.img".into(),
            cmdline: "quiet".into(),
        },
        tpm: None,
        mem_mib: 1024,
        cpus: 2,
        disks: vec![
            "data.qcow2".parse().expect("spec"),
            "extra.img".parse().expect("spec"),
        ],
        publish: vec![
            "8080:80".parse().expect("spec"),
            "5353:53/udp".parse().expect("spec"),
        ],
    }
}

fn after<'a>(args: &'a [String], flag: &str) -> Vec<&'a str> {
    args.windows(2)
        .filter(|w| w[0] == flag)
        .map(|w| w[1].as_str())
        .collect()
}

#[test]
fn x86_64_boots_on_q35_with_the_serial_console_and_no_reboot() {
    let args = machine(Arch::Amd64);
    let args = args_of(&args);
    assert_eq!(args[0], "qemu-system-x86_64");
    assert_eq!(after(&args, "-machine"), ["q35"]);
    assert_eq!(after(&args, "-append"), ["quiet console=ttyS0 panic=-1"]);
    assert!(args.iter().any(|a| a == "-no-reboot"));
    assert!(args.iter().any(|a| a == "-nographic"));
    assert_eq!(after(&args, "-m"), ["1024"]);
}

fn args_of(m: &Machine) -> Vec<String> {
    args(m)
}

fn firmware() -> Firmware {
    Firmware {
        code: "/fw/CODE.fd".into(),
        vars: "/run/x/VARS.fd".into(),
    }
}

fn uefi(arch: Arch, from: Medium) -> Machine {
    Machine {
        boot: Boot::Uefi {
            firmware: firmware(),
            from,
        },
        disks: vec![],
        ..machine(arch)
    }
}

fn raw_disk(path: &str) -> Medium {
    Medium::Disk {
        path: path.into(),
        format: DiskFormat::Raw,
        writable: false,
    }
}

#[test]
fn an_x86_64_disk_boots_from_ovmf_flash_as_the_first_virtio_disk_with_a_tpm() {
    let m = Machine {
        tpm: Some("/run/x/swtpm.sock".into()),
        ..uefi(Arch::Amd64, raw_disk("out/sys-efi.raw"))
    };
    let args = args_of(&m);
    assert_eq!(after(&args, "-machine"), ["q35"]);
    assert_eq!(
        after(&args, "-drive"),
        [
            "if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd",
            "if=pflash,format=raw,unit=1,file=/run/x/VARS.fd",
            "if=none,id=boot,format=raw,file=out/sys-efi.raw,snapshot=on",
        ]
    );
    assert_eq!(
        after(&args, "-device"),
        [
            "virtio-blk-pci,drive=boot,bootindex=0",
            "tpm-tis,tpmdev=tpm0",
            "virtio-net-pci,netdev=net0"
        ]
    );
    assert_eq!(
        after(&args, "-chardev"),
        ["socket,id=chrtpm,path=/run/x/swtpm.sock"]
    );
    assert_eq!(after(&args, "-tpmdev"), ["emulator,id=tpm0,chardev=chrtpm"]);
    for kernel_flag in ["-kernel", "-initrd", "-append"] {
        assert!(after(&args, kernel_flag).is_empty(), "{kernel_flag}");
    }
}

#[test]
fn an_arm64_disk_boots_on_virt_from_aavmf_flash() {
    let args = args_of(&uefi(Arch::Arm64, raw_disk("sys-efi.raw")));
    assert_eq!(args[0], "qemu-system-aarch64");
    assert_eq!(after(&args, "-machine"), ["virt"]);
    assert_eq!(after(&args, "-cpu"), ["cortex-a57"]);
    assert_eq!(after(&args, "-drive").len(), 3);
    assert!(after(&args, "-device").contains(&"virtio-blk-pci,drive=boot,bootindex=0"));
}

#[test]
fn the_arm64_tpm_is_the_sysbus_tis_device() {
    let m = Machine {
        tpm: Some("/s".into()),
        ..uefi(Arch::Arm64, raw_disk("d.raw"))
    };
    assert!(after(&args_of(&m), "-device").contains(&"tpm-tis-device,tpmdev=tpm0"));
}

#[test]
fn a_qcow2_disk_is_attached_as_qcow2_and_writable_only_when_asked() {
    let from = Medium::Disk {
        path: "sys-efi.qcow2".into(),
        format: DiskFormat::Qcow2,
        writable: true,
    };
    let args = args_of(&uefi(Arch::Amd64, from));
    assert_eq!(
        after(&args, "-drive")[2],
        "if=none,id=boot,format=qcow2,file=sys-efi.qcow2"
    );
}

#[test]
fn a_uki_is_handed_to_the_firmware_as_the_kernel_with_no_command_line() {
    let args = args_of(&uefi(Arch::Amd64, Medium::Uki("out/sys.efi".into())));
    assert_eq!(after(&args, "-kernel"), ["out/sys.efi"]);
    assert!(after(&args, "-append").is_empty());
    assert!(after(&args, "-initrd").is_empty());
    assert_eq!(after(&args, "-drive").len(), 2, "only the two flash drives");
}

#[test]
fn commas_in_paths_are_doubled_inside_qemu_option_lists() {
    let args = args_of(&uefi(Arch::Amd64, raw_disk("a,b.raw")));
    assert_eq!(
        after(&args, "-drive")[2],
        "if=none,id=boot,format=raw,file=a,,b.raw,snapshot=on"
    );
}

#[test]
fn arm64_boots_on_virt_with_a_cortex_a57_under_tcg() {
    let args = args_of(&machine(Arch::Arm64));
    assert_eq!(args[0], "qemu-system-aarch64");
    assert_eq!(after(&args, "-machine"), ["virt"]);
    assert_eq!(after(&args, "-cpu"), ["cortex-a57"]);
    assert!(after(&args, "-append")[0].contains("console=ttyAMA0"));
}

#[test]
fn published_ports_become_host_forwards_on_localhost() {
    let args = args_of(&machine(Arch::Amd64));
    assert_eq!(
        after(&args, "-netdev"),
        ["user,id=net0,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp:127.0.0.1:5353-:53"]
    );
}

#[test]
fn disks_are_virtio_drives_with_their_format() {
    let args = args_of(&machine(Arch::Amd64));
    assert_eq!(
        after(&args, "-drive"),
        [
            "if=virtio,index=0,format=qcow2,file=data.qcow2",
            "if=virtio,index=1,format=raw,file=extra.img"
        ]
    );
}

#[test]
fn a_cmdline_with_its_own_console_and_panic_is_kept() {
    assert_eq!(
        effective_cmdline("console=tty0 panic=5", Arch::Amd64),
        "console=tty0 panic=5"
    );
}

#[test]
fn publish_specs_without_two_ports_are_refused() {
    for bad in ["80", "a:80", "8080:80/sctp", "70000:80", ""] {
        assert!(bad.parse::<Publish>().is_err(), "{bad}");
    }
}

#[test]
fn kernel_files_tell_their_architecture() {
    let dir = tempfile::tempdir().unwrap();
    let mut x86 = vec![0u8; 0x300];
    x86[0x202..0x206].copy_from_slice(b"HdrS");
    let mut arm = vec![0u8; 0x300];
    arm[0x38..0x3c].copy_from_slice(b"ARM\x64");
    for (name, bytes, arch) in [
        ("x", x86, Some(Arch::Amd64)),
        ("a", arm, Some(Arch::Arm64)),
        ("n", vec![0; 16], None),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        assert_eq!(kernel_arch(&path).ok(), arch, "{name}");
    }
}

#[test]
fn the_kernel_last_words_say_how_the_guest_ended() {
    use super::super::console::{Ending, last_word};
    assert_eq!(
        last_word("[    3.1] reboot: Power down\r\n"),
        Some(Ending::PoweredOff)
    );
    assert_eq!(
        last_word("[    3.1] reboot: Restarting system"),
        Some(Ending::Rebooted)
    );
    assert!(matches!(
        last_word("[ 1.0] Kernel panic - not syncing: VFS: Unable to mount root fs"),
        Some(Ending::Panicked(_))
    ));
    assert_eq!(last_word("cairn-init: ready"), None);
}

#[test]
fn a_bios_disk_boots_from_qemus_own_bios_with_no_flash() {
    let m = Machine {
        boot: Boot::Bios {
            from: raw_disk("out/sys-bios.raw"),
        },
        disks: vec![],
        ..machine(Arch::Amd64)
    };
    let args = args_of(&m);
    assert_eq!(after(&args, "-machine"), ["q35"]);
    assert_eq!(
        after(&args, "-drive"),
        ["if=none,id=boot,format=raw,file=out/sys-bios.raw,snapshot=on"]
    );
    assert!(!args.iter().any(|a| a.contains("pflash")), "{args:?}");
}
