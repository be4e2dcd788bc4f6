//! Building test systems with the `cairn` binary of this workspace, into a
//! store of their own under ~/.cache/cairn/test-images, and caching every
//! built system by a digest of all its inputs (the config, the arch, the
//! store's image index and the cairn binary itself).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

use crate::error::BootError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Arch {
    Amd64,
    Arm64,
}

impl Arch {
    pub fn name(self) -> &'static str {
        match self {
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
        }
    }
}

/// The output formats the tests build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `prefix()-kernel`, `-initrd.img`, `-cmdline`.
    KernelInitrd,
    /// The same three (a small initrd) and `-squashfs.img`, the verified root.
    KernelSquashfs,
    /// `NAME-efi.raw`: GPT, ESP with the UKI, squashfs root under dm-verity.
    RawEfi,
    /// `NAME-efi.qcow2`.
    Qcow2Efi,
    /// `NAME.efi`.
    Uki,
    /// `NAME-efi.iso`.
    IsoEfi,
    /// `NAME-bios.iso`: ISOLINUX, the kernel and the whole root as initrd.
    IsoBios,
    /// `NAME-bios.raw`: GPT, a BIOS boot partition with ISOLINUX, squashfs
    /// root under dm-verity.
    RawBios,
    /// `NAME-bios.qcow2`.
    Qcow2Bios,
    /// `NAME-rpi3.img`: a Raspberry Pi 3 card (the config says `board: rpi3`).
    Rpi3,
    /// `NAME-rpi4.img`: a Raspberry Pi 4 card (`board: rpi4`).
    Rpi4,
    /// `NAME.update.json` with `.root` and `.efi`: one root slot's update.
    Update,
}

impl Format {
    pub fn name(self) -> &'static str {
        match self {
            Format::KernelInitrd => "kernel+initrd",
            Format::KernelSquashfs => "kernel+squashfs",
            Format::RawEfi => "raw-efi",
            Format::Qcow2Efi => "qcow2-efi",
            Format::Uki => "uki",
            Format::IsoEfi => "iso-efi",
            Format::IsoBios => "iso-bios",
            Format::RawBios => "raw-bios",
            Format::Qcow2Bios => "qcow2-bios",
            Format::Rpi3 | Format::Rpi4 => "rpi",
            Format::Update => "update",
        }
    }
}

/// A built system.
#[derive(Debug, Clone)]
pub struct Built {
    pub dir: PathBuf,
    pub name: String,
    pub arch: Arch,
    pub format: Format,
}

impl Built {
    pub fn prefix(&self) -> PathBuf {
        self.dir.join(&self.name)
    }

    /// What `cairn run qemu` is given: the prefix of a kernel+initrd
    /// triple, or the image file.
    pub fn target(&self) -> PathBuf {
        match self.format {
            Format::KernelInitrd | Format::KernelSquashfs => self.prefix(),
            Format::RawEfi => self.dir.join(format!("{}-efi.raw", self.name)),
            Format::Qcow2Efi => self.dir.join(format!("{}-efi.qcow2", self.name)),
            Format::Uki => self.dir.join(format!("{}.efi", self.name)),
            Format::IsoEfi => self.dir.join(format!("{}-efi.iso", self.name)),
            Format::IsoBios => self.dir.join(format!("{}-bios.iso", self.name)),
            Format::RawBios => self.dir.join(format!("{}-bios.raw", self.name)),
            Format::Qcow2Bios => self.dir.join(format!("{}-bios.qcow2", self.name)),
            Format::Rpi3 => self.dir.join(format!("{}-rpi3.img", self.name)),
            Format::Rpi4 => self.dir.join(format!("{}-rpi4.img", self.name)),
            Format::Update => self.dir.join(format!("{}.update.json", self.name)),
        }
    }

    pub fn initrd(&self) -> PathBuf {
        self.dir.join(format!("{}-initrd.img", self.name))
    }
}

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn cache_root() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("cairn").join("test-images")
}

/// The store test systems are built from.
pub fn test_store() -> PathBuf {
    cache_root().join("store")
}

fn run(what: &str, cmd: &mut Command) -> Result<String, BootError> {
    let out = cmd.output().map_err(BootError::io(what))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() {
        Ok(text)
    } else {
        Err(BootError::Command {
            what: what.to_string(),
            output: text,
        })
    }
}

/// The workspace's `cairn` binary, built once per test process.
pub fn cairn() -> Result<PathBuf, BootError> {
    static BIN: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    let built = BIN.get_or_init(|| {
        // `make test` boots with the static binary it ships.
        if let Some(bin) = std::env::var_os("CAIRN_TEST_BIN") {
            return Ok(PathBuf::from(bin));
        }
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(
            "cargo build -p cairn",
            Command::new(cargo)
                .args(["build", "-q", "-p", "cairn"])
                .current_dir(repo_root()),
        )
        .map_err(|e| e.to_string())?;
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo_root().join("target"));
        Ok(target.join("debug").join("cairn"))
    });
    built.clone().map_err(|output| BootError::Command {
        what: "building cairn".into(),
        output,
    })
}

fn cairn_cmd() -> Result<Command, BootError> {
    let mut cmd = Command::new(cairn()?);
    cmd.arg("--store")
        .arg(test_store())
        .env_remove("CAIRN_STORE")
        .current_dir(repo_root());
    Ok(cmd)
}

/// Builds and test runs share one store: one at a time.
static STORE: Mutex<()> = Mutex::new(());

/// Makes sure `cairn/NAME:latest` is in the test store (for every arch its
/// build.yml has). The init is rebuilt once per test process so tests boot
/// the current cairn-init; other packages (the kernel is a 130 MB download
/// per arch) are built when missing.
pub fn ensure_package(name: &str) -> Result<(), BootError> {
    static DONE: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let mut done = DONE.lock().unwrap_or_else(|p| p.into_inner());
    if done.contains(name) {
        return Ok(());
    }
    let listed = run("cairn images", cairn_cmd()?.arg("images"))?;
    let present = listed
        .lines()
        .any(|l| l.starts_with(&format!("docker.io/cairn/{name}:latest ")));
    // A package is rebuilt when its folder changed since the last build.
    let dir = repo_root().join("pkg").join(name);
    let marker = test_store().with_file_name(format!("pkg-{name}.sha256"));
    let hash = folder_hash(&dir);
    let unchanged = std::fs::read_to_string(&marker).is_ok_and(|h| h == hash);
    if name == "init" || !present || !unchanged {
        run(
            &format!("cairn pkg build pkg/{name}"),
            cairn_cmd()?.args(["pkg", "build"]).arg(&dir),
        )?;
        let _ = std::fs::write(&marker, &hash);
    }
    done.insert(name.to_string());
    Ok(())
}

/// A digest of every file directly in `dir` (names and contents), sorted.
fn folder_hash(dir: &Path) -> String {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    files.sort();
    let mut h = Sha256::new();
    for f in files {
        h.update(
            f.file_name()
                .map(|n| n.as_encoded_bytes())
                .unwrap_or_default(),
        );
        h.update(std::fs::read(&f).unwrap_or_default());
    }
    hex::encode(h.finalize())
}

/// The `cairn/NAME` packages a config names that this repository builds.
fn packages(config: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (i, _) in config.match_indices("cairn/") {
        let name: String = config[i + 6..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if repo_root()
            .join("pkg")
            .join(&name)
            .join("build.yml")
            .exists()
        {
            found.insert(name);
        }
    }
    found
}

/// The policy every example carries: this repository's packages, signed by
/// the development key `cairn pkg build` made on this machine.
const DEVELOPMENT_TRUST: &str = "trust:
  keys:
    - name: development
      development: true
      images: [\"cairn/*\"]
";

/// `yaml`, with the examples' policy added when it brings none of its own:
/// a test config is about what it boots, and cairn builds nothing unless a
/// policy vouches for every image.
fn with_trust(yaml: &str) -> String {
    if yaml.lines().any(|l| l.starts_with("trust:")) {
        return yaml.to_string();
    }
    let mut out = yaml.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    out.push_str(DEVELOPMENT_TRUST);
    out
}

/// Builds a config file of this repository (e.g. `examples/hello.yml`).
pub fn build(config: &str, arch: Arch) -> Result<Built, BootError> {
    build_as(config, arch, Format::KernelInitrd)
}

/// Builds a config file of this repository in `format`.
pub fn build_as(config: &str, arch: Arch, format: Format) -> Result<Built, BootError> {
    let path = repo_root().join(config);
    let text =
        std::fs::read_to_string(&path).map_err(BootError::io(format!("reading {config}")))?;
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "system".into());
    build_config_as(&name, &text, arch, format)
}

/// Builds a config given as text as kernel+initrd, or reuses the copy built
/// earlier from the same inputs.
pub fn build_config(name: &str, yaml: &str, arch: Arch) -> Result<Built, BootError> {
    build_config_as(name, yaml, arch, Format::KernelInitrd)
}

/// Builds a config given as text in `format`, or reuses the copy built
/// earlier from the same inputs.
pub fn build_config_as(
    name: &str,
    yaml: &str,
    arch: Arch,
    format: Format,
) -> Result<Built, BootError> {
    let _store = STORE.lock().unwrap_or_else(|p| p.into_inner());
    let yaml = &with_trust(yaml);
    for package in packages(yaml) {
        ensure_package(&package)?;
    }
    let bios = matches!(
        format,
        Format::IsoBios | Format::RawBios | Format::Qcow2Bios
    );
    if bios && !yaml.contains("syslinux:") {
        ensure_package("syslinux")?;
    }
    let rpi = matches!(format, Format::Rpi3 | Format::Rpi4);
    if rpi && !yaml.contains("firmware:") {
        ensure_package("rpi-firmware")?;
    }
    let uefi = !bios && !rpi && !matches!(format, Format::KernelInitrd | Format::KernelSquashfs);
    if uefi && !yaml.contains("stub:") {
        ensure_package("systemd-stub")?;
    }
    let cairn = cairn()?;
    let mut key = Sha256::new();
    key.update(yaml.as_bytes());
    key.update(arch.name().as_bytes());
    key.update(format.name().as_bytes());
    key.update(std::fs::read(test_store().join("index.json")).unwrap_or_default());
    key.update(std::fs::read(&cairn).map_err(BootError::io("reading the cairn binary"))?);
    let key = hex::encode(key.finalize());
    let dir = cache_root().join(&key[..16]);
    let built = Built {
        dir: dir.clone(),
        name: name.to_string(),
        arch,
        format,
    };
    if dir.join("complete").exists() {
        return Ok(built);
    }
    let root = cache_root();
    std::fs::create_dir_all(&root).map_err(BootError::io("creating the test image cache"))?;
    let work = tempfile::tempdir_in(&root).map_err(BootError::io("creating a build folder"))?;
    let config = work.path().join(format!("{name}.yml"));
    std::fs::write(&config, yaml).map_err(BootError::io("writing the config"))?;
    run(
        &format!("cairn build {name} for {}", arch.name()),
        cairn_cmd()?
            .args([
                "build",
                "--offline",
                "-f",
                format.name(),
                "--arch",
                arch.name(),
            ])
            .arg("-o")
            .arg(work.path())
            .args(["--name", name])
            .arg(&config),
    )?;
    std::fs::write(work.path().join("complete"), "").map_err(BootError::io("marking the build"))?;
    let _ = std::fs::remove_dir_all(&dir);
    let kept = work.keep();
    std::fs::rename(&kept, &dir).map_err(BootError::io("moving the build into the cache"))?;
    Ok(built)
}
