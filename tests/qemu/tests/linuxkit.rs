//! LinuxKit's interfaces as its users and tests rely on them, in one boot
//! (x86_64, kernel+initrd): the `Welcome to LinuxKit` banner before the
//! first container, dhcpcd at LinuxKit's paths, sysctl applying a directory,
//! a `runtime.cgroups` directory visible in the container (no cgroup
//! namespace), containerd's output where runtime-config.toml sends it, and
//! a password login on the console from /etc/getty.shadow.

use std::time::Duration;

use cairn_qemu_tests::{Arch, Guest, Options, build_config};

/// `openssl passwd -6 -salt cairnsalt cairn`.
const SHADOW: &str = "root:$6$cairnsalt$nNHb8zAoTTfQArXVCEmAvY6OCY6v1sfp5b5lltiyBIk3k.iN2W.T9qL4qSAroJ4pgIhwHovNp2W6w/S/AfdOc/:19000:0:99999:7:::";

fn config() -> String {
    format!(
        r#"kernel:
  image: cairn/kernel:latest
  cmdline: "console=ttyS0"
init:
  - cairn/init:latest
  - cairn/runc:latest
  - cairn/containerd:latest
onboot:
  - name: dhcpcd
    image: cairn/dhcpcd:latest
    command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
  - name: sysctl
    image: cairn/sysctl:latest
    binds: ["/etc/sysctl.d:/etc/sysctl.d"]
  - name: cgroups
    image: cairn/busybox:latest
    runtime:
      cgroups: [newcgroup]
    command: ["/bin/busybox", "sh", "-c", "/bin/busybox mount | /bin/busybox grep -q cgroup2 && /bin/busybox stat /sys/fs/cgroup/newcgroup >/dev/null && echo cgroup-dir-seen; echo swappiness-$(/bin/busybox cat /proc/sys/vm/swappiness)"]
services:
  - name: getty
    image: cairn/getty:latest
files:
  - path: etc/sysctl.d/10-test.conf
    contents: "vm.swappiness = 13\n"
  - path: etc/containerd/runtime-config.toml
    contents: |
      stdout = "/var/log/containerd-out.log"
      stderr = "/var/log/containerd-out.log"
  - path: etc/getty.shadow
    contents: "{SHADOW}"
    mode: "0600"
"#
    )
}

#[test]
fn linuxkits_package_and_init_interfaces_work_on_x86_64() {
    let built = build_config("linuxkit", &config(), Arch::Amd64).unwrap_or_else(|e| panic!("{e}"));
    // One vCPU: the console login is timed, and a starved second TCG vCPU
    // once stalled this guest in the kernel for minutes.
    let options = Options {
        cpus: 1,
        limit: Duration::from_secs(400),
        ..Options::default()
    };
    let mut guest = Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"));
    let wait = |guest: &mut Guest, marker: &str| {
        guest
            .wait_for(marker, Duration::from_secs(240))
            .unwrap_or_else(|e| panic!("{e}"));
    };
    wait(&mut guest, "Welcome to LinuxKit");
    wait(&mut guest, "onboot 000-dhcpcd exited with status 0");
    wait(&mut guest, "sysctl: applying /etc/sysctl.d/10-test.conf");
    wait(&mut guest, "cgroup-dir-seen");
    wait(&mut guest, "swappiness-13");
    wait(&mut guest, "output /var/log/containerd-out.log");
    wait(&mut guest, "service getty started");
    // A password login, not the debugging autologin, typed as a serial
    // terminal does (CR ends a line) and at a person's pace: busybox's getty
    // and login drop what is typed while they set the line up.
    let typed = |guest: &mut Guest, after: u64, text: &str| {
        std::thread::sleep(Duration::from_secs(after));
        guest.send(text).unwrap_or_else(|e| panic!("{e}"));
    };
    typed(&mut guest, 9, "\r");
    typed(&mut guest, 3, "root\r");
    typed(&mut guest, 4, "cairn\r");
    typed(
        &mut guest,
        4,
        "echo logged-in-$((6*7)); /bin/busybox test -s /proc/1/root/var/log/containerd-out.log && echo containerd-log-$((40+1))\r",
    );
    wait(&mut guest, "logged-in-42");
    wait(&mut guest, "containerd-log-41");
    let log = guest.log();
    let banner = log.find("Welcome to LinuxKit").unwrap_or(usize::MAX);
    let first = log.find("onboot 000-dhcpcd starting").unwrap_or(0);
    assert!(
        banner < first,
        "the banner comes before the first container:\n{log}"
    );
    assert!(!log.contains("cairn-init: fatal"), "{log}");
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
}
