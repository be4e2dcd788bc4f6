use super::*;

fn machine(arch: Arch) -> Machine {
    Machine {
        arch,
        accel: Accel::Tcg,
        kernel: "out/sys-kernel".into(),
        initrd: "out/sys-initrd.img".into(),
        cmdline: "quiet".into(),
        mem_mib: 1024,
        cpus: 2,
        disks: vec!["data.qcow2".into(), "extra.img".into()],
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
