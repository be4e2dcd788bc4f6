//! Volumes booted (x86_64, kernel+initrd): a blank volume shared between an
//! onboot container and a service, an image volume whose files are visible
//! and writable through its overlay while its image stays as built, and a
//! read-only volume that the kernel refuses to write even through a
//! writable bind. Binds and `mounts:` entries of `type: bind`, with and
//! without options, all reach the same volume mounts.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config};

const VOLUMES: &str = r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
volumes:
  - name: scratch
  - name: seed
    image: cairn/getty:latest
  - name: sealed
    image: cairn/getty:latest
    readonly: true
onboot:
  - name: writer
    image: cairn/busybox:latest
    binds: ["scratch:/scratch", "seed:/seed"]
    command: ["/bin/busybox", "sh", "-c", "echo shared-by-onboot > /scratch/note && echo changed > /seed/etc/passwd && echo onboot-wrote"]
  - name: prober
    image: cairn/busybox:latest
    binds: ["sealed:/sealed:ro", "/containers/volumes:/all"]
    command: ["/bin/busybox", "sh", "-c", "echo sealed-holds-$(head -c 4 /sealed/etc/passwd); echo lower-kept-$(head -c 4 /all/seed/lower/etc/passwd); if echo x > /all/sealed/merged/x; then echo sealed-WRITABLE; else echo sealed-refused-write; fi"]
services:
  - name: reader
    image: cairn/busybox:latest
    binds: ["/run/cairn/request:/run/cairn/request"]
    mounts:
      - {type: bind, source: scratch, destination: /plain}
      - {type: bind, source: seed, destination: /seedm, options: [rbind, rw]}
      - {type: bind, source: sealed, destination: /opts, options: [rbind, ro]}
    command: ["/bin/busybox", "sh", "-c", "echo reader-sees-$(cat /plain/note)-$(cat /seedm/etc/passwd)-$(head -c 4 /opts/etc/passwd); touch /run/cairn/request/poweroff; sleep 60"]
"#;

#[test]
fn volumes_are_mounted_shared_seeded_and_read_only_on_x86_64() {
    let built = build_config("volumes", VOLUMES, Arch::Amd64).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        limit: Duration::from_secs(400),
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    guest
        .wait_for("reboot: Power down", Duration::from_secs(300))
        .unwrap_or_else(|e| panic!("{e}"));
    let log = guest.log();
    for marker in [
        "volume scratch: mounted writable",
        "volume seed: mounted writable",
        "volume sealed: mounted read-only",
        "onboot-wrote",
        "sealed-holds-root",
        "lower-kept-root",
        "sealed-refused-write",
        "reader-sees-shared-by-onboot-changed-root",
    ] {
        assert!(log.contains(marker), "{marker:?} missing in:\n{log}");
    }
    assert!(!log.contains("sealed-WRITABLE"), "{log}");
    assert!(!log.contains("cairn-init: fatal"), "{log}");
}
