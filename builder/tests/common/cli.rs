//! Running the `cairn` binary against a temporary store.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use cairn::oci::Store;

/// An empty store in a temporary folder (removed when the guard drops).
pub fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(dir.path().join("store")).expect("open store");
    (dir, store)
}

/// The `cairn` binary under test: this build's, or the one CAIRN_CLI_BIN
/// names (a static release binary), run through the emulator
/// CAIRN_CLI_RUNNER names when it is built for another architecture
/// by its absolute path (`make test-arm64`: `qemu-aarch64`; some tests
/// empty PATH).
pub fn std_binary() -> std::process::Command {
    let built = || {
        assert_cmd::cargo::cargo_bin!("cairn")
            .as_os_str()
            .to_owned()
    };
    let bin = std::env::var_os("CAIRN_CLI_BIN").unwrap_or_else(built);
    match std::env::var_os("CAIRN_CLI_RUNNER") {
        Some(runner) => {
            let mut cmd = std::process::Command::new(runner);
            cmd.arg(bin);
            cmd
        }
        None => std::process::Command::new(bin),
    }
}

pub fn binary() -> Command {
    Command::from_std(std_binary())
}

/// The `cairn` binary using `store`, unaffected by the caller's environment.
pub fn cairn(store: &Store) -> Command {
    let mut cmd = binary();
    cmd.arg("--store")
        .arg(store.root())
        .env_remove("CAIRN_STORE")
        .env_remove("RUST_LOG")
        // Host credentials must not leak into tests.
        .env("DOCKER_CONFIG", store.root().join("no-docker-config"));
    cmd
}

/// Whether the store's temporary folder is empty: no half-written blob left.
pub fn tmp_is_empty(store: &Store) -> bool {
    fs::read_dir(store.root().join("tmp"))
        .map(|mut d| d.next().is_none())
        .unwrap_or(true)
}

/// A temporary folder with a store, where key files and configs are written
/// and `cairn` runs.
#[derive(Debug)]
pub struct Env {
    pub dir: tempfile::TempDir,
    pub store: Store,
}

impl Env {
    pub fn new() -> Env {
        let (dir, store) = store();
        Env { dir, store }
    }

    /// `cairn --store STORE`, run in the temporary folder, with a config
    /// folder of its own (so the development key is the env's, not the
    /// user's).
    pub fn cairn(&self) -> Command {
        let mut cmd = cairn(&self.store);
        cmd.current_dir(self.dir.path())
            .env("XDG_CONFIG_HOME", self.config_home());
        cmd
    }

    /// What `XDG_CONFIG_HOME` is for `cairn` runs in this env.
    pub fn config_home(&self) -> PathBuf {
        self.path("config")
    }

    /// Creates the env's development key (what `cairn pkg build` would on
    /// first use); returns the path of its private half.
    pub fn development_key(&self) -> PathBuf {
        let dir = self.config_home().join("cairn");
        fs::create_dir_all(&dir).expect("config folder");
        self.cairn()
            .args(["key", "generate", "--out"])
            .arg(dir.join("dev"))
            .assert()
            .success();
        dir.join("dev.key")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        fs::write(&path, text).expect("write file");
        path
    }

    /// `cairn key generate --out PREFIX`; returns the printed key id.
    pub fn key(&self, prefix: &str) -> String {
        let out = self
            .cairn()
            .args(["key", "generate", "--out"])
            .arg(self.path(prefix))
            .assert()
            .success()
            .get_output()
            .stdout
            .clone();
        String::from_utf8(out).expect("utf-8").trim().to_string()
    }

    /// `cairn sign IMAGE --key KEY`, expected to succeed.
    pub fn sign(&self, image: &str, key: impl AsRef<Path>) {
        self.cairn()
            .args(["sign", image, "--key"])
            .arg(key.as_ref())
            .assert()
            .success();
    }
}

impl Default for Env {
    fn default() -> Self {
        Env::new()
    }
}
