//! The examples of this repository, each booted and checked on its serial
//! console (and, for web, from the host). Slow: `make test-slow` runs them.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use cairn_qemu_tests::{Arch, Guest, Options, build};

const BOOT: Duration = Duration::from_secs(180);

fn boot(example: &str, arch: Arch, publish: Vec<(u16, u16)>) -> Guest {
    let built = build(example, arch).unwrap_or_else(|e| panic!("{e}"));
    let options = Options {
        publish,
        limit: Duration::from_secs(400),
        ..Options::default()
    };
    Guest::boot(&built, &options).unwrap_or_else(|e| panic!("{e}"))
}

fn expect(guest: &mut Guest, markers: &[&str]) {
    for marker in markers {
        guest
            .wait_for(marker, BOOT)
            .unwrap_or_else(|e| panic!("{e}"));
    }
}

fn hello_says_hello_twice_and_powers_off(arch: Arch) {
    let mut guest = boot("examples/hello.yml", arch, Vec::new());
    expect(
        &mut guest,
        &[
            "hello from onboot",
            "containerd is ready",
            "hello from a service",
            "a container asked for poweroff",
            "reboot: Power down",
        ],
    );
    let status = guest
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}\n{}", guest.log());
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn hello_on_x86_64_says_hello_twice_and_powers_off() {
    hello_says_hello_twice_and_powers_off(Arch::Amd64);
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn hello_on_arm64_says_hello_twice_and_powers_off() {
    hello_says_hello_twice_and_powers_off(Arch::Arm64);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(18080)
}

fn http_get(port: u16) -> std::io::Result<String> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.write_all(b"GET / HTTP/1.0\r\nHost: cairn\r\n\r\n")?;
    let mut body = String::new();
    s.read_to_string(&mut body)?;
    Ok(body)
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn web_answers_an_http_request_from_the_host() {
    let port = free_port();
    let mut guest = boot("examples/web.yml", Arch::Amd64, vec![(port, 80)]);
    expect(&mut guest, &["service web started"]);
    let deadline = Instant::now() + Duration::from_secs(60);
    let body = loop {
        match http_get(port) {
            Ok(body) if body.contains("hello from cairn") => break body,
            _ if Instant::now() < deadline => std::thread::sleep(Duration::from_secs(1)),
            other => panic!("no answer on port {port}: {other:?}\n{}", guest.log()),
        }
    };
    assert!(body.starts_with("HTTP/1."), "{body}");
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn sshd_starts_and_listens() {
    let port = free_port();
    let mut guest = boot("examples/sshd.yml", Arch::Amd64, vec![(port, 22)]);
    expect(&mut guest, &["service sshd started", "Server listening"]);
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn minimal_starts_its_getty() {
    let mut guest = boot("examples/minimal.yml", Arch::Amd64, Vec::new());
    expect(
        &mut guest,
        &["containerd is ready", "service getty started"],
    );
    guest.quit().unwrap_or_else(|e| panic!("{e}"));
}

#[test]
#[ignore = "slow: a full boot with runc and containerd under TCG; make test-slow"]
fn netns_shares_a_namespace_and_a_veth_pair_between_containers() {
    let mut guest = boot("examples/netns.yml", Arch::Amd64, Vec::new());
    expect(
        &mut guest,
        &[
            "eth-shared",
            "containerd is ready",
            "client: got netns-ok over the veth pair",
            "reboot: Power down",
        ],
    );
    let status = guest
        .wait_exit(Duration::from_secs(60))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(status.success(), "{status}\n{}", guest.log());
}
