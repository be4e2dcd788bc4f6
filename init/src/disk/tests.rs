//! The disk boot against the fake: a GPT disk in memory, sysfs as files, a
//! verity device as bytes, and the TPM as response codes.

use cairn_boot::measure::event_digest;

use crate::boot::run;
use crate::disk::gpt_scan::Guid;
use crate::disk::gpt_scan::tests::disk_image;
use crate::fake::Fake;
use crate::measure_boot::Log;
use crate::sys::{Shutdown, Signal};
use crate::tpm::pcr_extend_command;

const UUID: &str = "6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61";
const HASH: &str = "5c1e0f8a9b3d2c4e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c5d6";
/// 3 MiB of squashfs.
const BLOCKS: u64 = 768;

fn cmdline(verity: &str) -> String {
    format!("console=ttyS0 cairn.root=PARTUUID={UUID} roothash={HASH} cairn.verity={verity}\n")
}

/// An initramfs boot with disk `disk` whose partition 2 is the root.
fn disk_system(disk: &str, part2: &str) -> Fake {
    let mut sys = Fake::new();
    sys.root_fstype = "rootfs".into();
    sys.tpm = Some(0);
    sys.files.insert(
        "/proc/cmdline".into(),
        cmdline(&format!("{BLOCKS},{},00ff", BLOCKS + 1)),
    );
    let part1 = part2.replace('2', "1");
    let block = "/sys/class/block";
    sys.dirs.insert(
        block.into(),
        vec![disk.into(), part1.clone(), part2.into(), "loop0".into()],
    );
    sys.files
        .insert(format!("{block}/loop0/size"), "0\n".into());
    sys.files
        .insert(format!("{block}/{disk}/size"), "8192\n".into());
    sys.dirs.insert(
        format!("{block}/{disk}"),
        vec![part1.clone(), part2.into(), "queue".into(), "size".into()],
    );
    for (name, n) in [(part1.as_str(), "1"), (part2, "2")] {
        sys.files
            .insert(format!("{block}/{disk}/{name}/partition"), format!("{n}\n"));
        sys.files
            .insert(format!("{block}/{name}/partition"), format!("{n}\n"));
        sys.files
            .insert(format!("{block}/{name}/dev"), format!("259:{n}\n"));
    }
    let other = Guid::parse("11111111-2222-3333-4444-555555555555").expect("guid");
    let root = Guid::parse(UUID).expect("guid");
    sys.blocks.insert(
        format!("/dev/{disk}"),
        disk_image(&[(other, 34, 99), (root, 100, 8000)], 8192),
    );
    sys.dm_minor = 3;
    sys.blocks
        .insert("/dev/dm-3".into(), vec![0; (BLOCKS * 4096) as usize]);
    sys.dirs
        .insert("/sysroot/containers/onboot".into(), vec!["000-a".into()]);
    sys.dirs
        .insert("/sysroot/containers/services".into(), vec!["web".into()]);
    for bundle in ["onboot/000-a", "services/web"] {
        sys.files.insert(
            format!("/sysroot/containers/{bundle}/config.json"),
            "{}".into(),
        );
    }
    sys.files.insert(
        "/sysroot/containers/services/web/runtime.json".into(),
        r#"{"imageDigest": "sha256:1234"}"#.into(),
    );
    sys
}

fn measurements(sys: &Fake) -> Log {
    let text = &sys.files["/sysroot/run/cairn/measurements.json"];
    serde_json::from_str(text).expect("measurements.json")
}

#[test]
fn a_disk_boot_verifies_mounts_measures_and_switches_to_the_root_partition() {
    let mut sys = disk_system("vda", "vda2");
    // The fake's switch_root fails: that is reported as fatal.
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    let table = format!(
        "dm_create cairn-root 0 6144 verity 1 259:2 259:2 4096 4096 768 769 sha256 {HASH} 00ff"
    );
    let dm = sys.position(&table);
    let squashfs = sys.position("mount squashfs /sysroot ");
    let run_tmpfs = sys.position("mount tmpfs /sysroot/run mode=0755");
    let tmp = sys.position("mount tmpfs /sysroot/tmp mode=1777");
    // /var keeps the root's content under a writable overlay on /run.
    let var = sys.position(
        "mount overlay /sysroot/var lowerdir=/sysroot/var,upperdir=/sysroot/run/cairn/var/upper,workdir=/sysroot/run/cairn/var/work",
    );
    let log = sys.position(
        "rename /sysroot/run/cairn/measurements.json.tmp /sysroot/run/cairn/measurements.json",
    );
    let switch = sys.position("switch_root /sysroot");
    assert!(dm.is_some() && dm < squashfs, "{:?}", sys.calls);
    assert!(var.is_some(), "{:?}", sys.calls);
    assert!(squashfs < run_tmpfs && run_tmpfs < tmp && tmp < var && var < log);
    assert!(log.is_some() && log < switch, "{:?}", sys.calls);
    assert!(sys.position("umount /sys") < switch);
    assert!(sys.calls_starting("move_root").is_empty());
    assert!(sys.logged("root: /dev/vda2 (PARTUUID 6b1d3e2a-55c1-4f0e-9a57-0d2c3b4a5f61)"));
    assert!(sys.logged("verity: root verified, 3 MiB in"));
    assert!(sys.logged("tpm: PCR 15 extended with 4 events"));
    assert!(sys.logged("FATAL: cannot switch the root to /sysroot"));

    let log = measurements(&sys);
    let config = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    let lines: Vec<&str> = log.events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        lines,
        [
            "cairn:phase:enter-initrd".to_string(),
            format!("cairn:container:onboot/000-a:image=unknown:config={config}"),
            format!("cairn:container:services/web:image=sha256:1234:config={config}"),
            "cairn:phase:leave-initrd".to_string(),
        ]
    );
    assert!((log.pcr, log.tpm) == (15, true));
    // Each event went to the TPM as its own extend, in the logged order.
    let sent: Vec<Vec<u8>> = lines
        .iter()
        .map(|l| pcr_extend_command(15, &event_digest(l)))
        .collect();
    assert_eq!(sys.tpm_commands, sent);
    assert_eq!(log.events[0].digest, hex::encode(event_digest(lines[0])));
}

#[test]
fn the_partition_node_is_the_name_sysfs_gives_it() {
    let mut sys = disk_system("nvme0n1", "nvme0n1p2");
    run(&mut sys);
    assert!(
        sys.logged("root: /dev/nvme0n1p2 (PARTUUID"),
        "{:?}",
        sys.lines
    );
}

#[test]
fn without_a_tpm_the_boot_goes_on_says_so_once_and_logs_tpm_false() {
    let mut sys = disk_system("vda", "vda2");
    sys.tpm = None;
    run(&mut sys);
    let said: Vec<&String> = sys.lines.iter().filter(|l| l.contains("no TPM")).collect();
    assert_eq!(said.len(), 1, "{said:?}");
    assert!(said[0].ends_with("cairn-init: no TPM: boot measurements are skipped"));
    assert!(sys.tpm_commands.is_empty());
    assert!(sys.position("switch_root /sysroot").is_some());
    let log = measurements(&sys);
    assert!(!log.tpm);
    assert_eq!(log.events.len(), 4);
    assert!(sys.logged("measured 4 events (not in a TPM)"));
}

#[test]
fn a_tpm_refusal_is_reported_with_its_code_and_the_boot_goes_on_unmeasured() {
    let mut sys = disk_system("vda", "vda2");
    sys.tpm = Some(0x101);
    run(&mut sys);
    assert!(sys.logged(
        "tpm: the TPM at /dev/tpmrm0 refused TPM2_PCR_Extend of PCR 15 with response code 0x101"
    ));
    assert_eq!(sys.tpm_commands.len(), 1, "no extends after a refusal");
    assert!(!measurements(&sys).tpm);
    assert!(sys.position("switch_root /sysroot").is_some());
}

#[test]
fn a_verity_read_error_is_fatal_names_the_byte_and_no_container_runs() {
    let mut sys = disk_system("vda", "vda2");
    sys.bad_bytes.insert("/dev/dm-3".into(), (1 << 20) + 5000);
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    assert!(
        sys.logged(
            "cairn-init: FATAL: root partition failed verification at byte 1052672 (dm-verity): \
             Input/output error (os error 5); powering off"
        ),
        "{:?}",
        sys.lines
    );
    assert!(sys.calls_starting("mount squashfs").is_empty());
    assert!(sys.calls_starting("switch_root").is_empty());
    assert!(sys.calls_starting("run ").is_empty());
    assert!(sys.calls_starting("spawn ").is_empty());
    assert!(sys.calls_starting("create ").is_empty());
}

#[test]
fn a_verity_device_shorter_than_the_command_line_says_is_fatal() {
    let mut sys = disk_system("vda", "vda2");
    sys.blocks.insert("/dev/dm-3".into(), vec![0; 4096 * 10]);
    run(&mut sys);
    assert!(sys.logged("ends at byte 40960, but cairn.verity says 3145728"));
    assert!(sys.calls_starting("mount squashfs").is_empty());
}

#[test]
fn a_device_mapper_failure_is_fatal_and_points_at_the_kernel_message() {
    let mut sys = disk_system("vda", "vda2");
    sys.dm_error = Some(rustix::io::Errno::INVAL);
    run(&mut sys);
    assert!(sys.logged(
        "FATAL: cannot set up dm-verity device cairn-root over /dev/vda2 (259:2): Invalid argument"
    ));
    assert!(sys.calls_starting("mount squashfs").is_empty());
}

#[test]
fn a_root_partition_that_never_appears_is_fatal_after_waiting_and_says_what_it_saw() {
    let mut sys = disk_system("vda", "vda2");
    let other = Guid::parse("11111111-2222-3333-4444-555555555555").expect("guid");
    sys.blocks
        .insert("/dev/vda".into(), disk_image(&[(other, 34, 99)], 8192));
    run(&mut sys);
    let waits = sys
        .lines
        .iter()
        .filter(|l| l.contains("waiting up to 10 s"))
        .count();
    assert_eq!(waits, 1);
    assert!(sys.logged(&format!(
        "FATAL: no disk has a GPT partition with PARTUUID {UUID} after 10 s (seen: vda: GPT without it)"
    )));
    assert!(sys.calls_starting("dm_create").is_empty());
}

#[test]
fn a_disk_without_a_gpt_is_named_in_the_fatal_message() {
    let mut sys = disk_system("vda", "vda2");
    sys.blocks.insert("/dev/vda".into(), vec![0; 8192 * 512]);
    run(&mut sys);
    assert!(sys.logged("(seen: vda: no GPT header"), "{:?}", sys.lines);
}

#[test]
fn without_cairn_root_the_initramfs_boot_moves_to_a_tmpfs_as_before() {
    let mut sys = disk_system("vda", "vda2");
    sys.files.insert(
        "/proc/cmdline".into(),
        format!("console=ttyS0 roothash={HASH}\n"),
    );
    run(&mut sys);
    assert!(sys.position("move_root /.cairn-root").is_some());
    assert!(sys.calls_starting("dm_create").is_empty());
    assert!(sys.tpm_commands.is_empty());
}

#[test]
fn a_malformed_cairn_verity_is_fatal_with_the_word_and_the_problem() {
    let mut sys = disk_system("vda", "vda2");
    sys.files.insert("/proc/cmdline".into(), cmdline("768,769"));
    assert_eq!(run(&mut sys), Shutdown::PowerOff);
    assert!(sys.logged(
        "FATAL: kernel command line: cairn.verity=768,769: not <data_blocks>,<hash_start_block>,<salt_hex>"
    ));
    assert!(sys.calls_starting("move_root").is_empty());
    assert!(sys.calls_starting("dm_create").is_empty());
}

#[test]
fn stage_two_keeps_the_handed_over_run_and_extends_ready_after_the_services() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.root_fstype = "squashfs".into();
    sys.tpm = Some(0);
    sys.files.insert(
        "/proc/self/mountinfo".into(),
        "20 1 254:3 / / ro - squashfs /dev/dm-3 ro\n\
         21 20 0:21 / /run rw,nosuid,nodev - tmpfs tmpfs rw,mode=755\n\
         22 20 0:22 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw,mode=1777\n"
            .into(),
    );
    sys.files.insert(
        "/run/cairn/measurements.json".into(),
        r#"{"pcr":15,"tpm":true,"events":[{"event":"cairn:phase:enter-initrd","digest":"00"}]}"#
            .into(),
    );
    sys.dirs
        .insert("/containers/services".into(), vec!["web".into()]);
    run(&mut sys);
    assert!(sys.calls_starting("mount tmpfs /run").is_empty());
    assert!(sys.calls_starting("mount tmpfs /tmp").is_empty());
    assert!(sys.logged("kept mounted: /run /tmp"));
    let started = sys.position("start web");
    let ready = sys.position("write /run/cairn/ready");
    assert!(started.is_some() && started < ready, "{:?}", sys.calls);
    assert_eq!(
        sys.tpm_commands,
        [pcr_extend_command(15, &event_digest("cairn:phase:ready"))]
    );
    let log: Log = serde_json::from_str(&sys.files["/run/cairn/measurements.json"]).expect("log");
    assert_eq!(log.events.len(), 2);
    assert_eq!(log.events[1].event, "cairn:phase:ready");
    assert!(log.tpm);
    assert!(sys.logged("tpm: PCR 15 extended with ready (2 events in all)"));
}

#[test]
fn a_tmpfs_root_without_a_measurement_log_extends_nothing() {
    let mut sys = Fake::with_signals(&[Signal::Usr2]);
    sys.tpm = Some(0);
    sys.dirs
        .insert("/containers/services".into(), vec!["web".into()]);
    run(&mut sys);
    assert!(sys.tpm_commands.is_empty());
    assert!(!sys.files.contains_key("/run/cairn/ready"));
    assert!(sys.position("mount tmpfs /run mode=0755").is_some());
}

#[test]
fn cairn_root_disk_takes_the_whole_disk_that_starts_with_a_squashfs() {
    let mut sys = disk_system("vda", "vda2");
    sys.files.insert(
        "/proc/cmdline".into(),
        format!(
            "console=ttyS0 cairn.root=disk roothash={HASH} cairn.verity={BLOCKS},{},-\n",
            BLOCKS + 1
        ),
    );
    // vda is the GPT disk; vdb is the kernel+squashfs image.
    let block = "/sys/class/block";
    sys.dirs.get_mut(block).expect("sysfs").push("vdb".into());
    sys.files
        .insert(format!("{block}/vdb/size"), "8192\n".into());
    sys.files
        .insert(format!("{block}/vdb/dev"), "254:16\n".into());
    let mut image = vec![0u8; 8192 * 512];
    image[..4].copy_from_slice(b"hsqs");
    sys.blocks.insert("/dev/vdb".into(), image);
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    assert!(
        sys.logged("root: /dev/vdb (the whole disk)"),
        "{:#?}",
        sys.lines
    );
    let created = sys.calls_starting("dm_create");
    assert!(
        created
            .iter()
            .any(|c| c.contains("1 254:16 254:16 4096 4096")),
        "{created:?}"
    );
}

#[test]
fn a_pi_card_root_is_found_by_its_mbr_disk_signature_and_partition_number() {
    let mut sys = disk_system("mmcblk0", "mmcblk0p2");
    sys.files.insert(
        "/proc/cmdline".into(),
        format!(
            "console=ttyS1,115200 cairn.root=PARTUUID=c0ffee01-02 roothash={HASH} cairn.verity={BLOCKS},{},-\n",
            BLOCKS + 1
        ),
    );
    let entries = |sig| {
        let parts = [
            cairn_boot::mbr::Entry {
                number: 1,
                kind: cairn_boot::mbr::FAT32_LBA,
                bootable: true,
                first_lba: 2048,
                sectors: 2048,
            },
            cairn_boot::mbr::Entry {
                number: 2,
                kind: cairn_boot::mbr::LINUX,
                bootable: false,
                first_lba: 4096,
                sectors: 4096,
            },
        ];
        let mut image = vec![0u8; 8192 * 512];
        image[..512].copy_from_slice(&cairn_boot::mbr::table_sector(sig, &parts).expect("mbr"));
        image
    };
    // Another card with the same layout but another signature comes first.
    let block = "/sys/class/block";
    sys.dirs
        .get_mut(block)
        .expect("sysfs")
        .insert(0, "mmcblk1".into());
    sys.files
        .insert(format!("{block}/mmcblk1/size"), "8192\n".into());
    sys.blocks
        .insert("/dev/mmcblk1".into(), entries(0x1234_5678));
    sys.blocks
        .insert("/dev/mmcblk0".into(), entries(0xc0ff_ee01));
    sys.signals.push_back(Signal::Usr2);
    run(&mut sys);
    assert!(
        sys.logged("root: /dev/mmcblk0p2 (PARTUUID c0ffee01-02)"),
        "{:#?}",
        sys.lines
    );
}
