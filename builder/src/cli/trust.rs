//! `cairn key`, `cairn sign` and `cairn verify`, and the conversion of a
//! config's `trust:` section into a [`Policy`].

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Subcommand};

use super::GlobalArgs;
use crate::config;
use crate::oci::integrity::check_image;
use crate::oci::store::descriptor_digest;
use crate::oci::{ImageRef, Store};
use crate::plan::policy_from_config;
use crate::trust::{self, PublicKey, SigningKey, Verdict};
use crate::ui;

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Create an ed25519 key pair: PREFIX.key (PKCS#8 PEM, mode 0600) and PREFIX.pub.
    ///
    /// Prints the key id (sha256 of the public key), which signatures and
    /// error messages use to name the key.
    Generate {
        /// Path prefix of the two files.
        #[arg(long, default_value = "cairn", value_name = "PREFIX")]
        out: PathBuf,
        /// Replace existing key files.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Image name in the local store.
    pub image: String,
    /// Private key (PKCS#8 PEM), e.g. release.key from `cairn key generate`.
    #[arg(long, value_name = "FILE")]
    pub key: PathBuf,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Image name in the local store.
    pub image: String,
    /// Public key (PEM); repeat to accept a signature by any of several keys.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "policy",
        required_unless_present = "policy"
    )]
    pub key: Vec<PathBuf>,
    /// A config file whose `trust:` section is the policy.
    #[arg(long, value_name = "CONFIG")]
    pub policy: Option<PathBuf>,
}

pub fn key(_global: &GlobalArgs, cmd: KeyCommand) -> anyhow::Result<()> {
    match cmd {
        KeyCommand::Generate { out, force } => {
            let key = SigningKey::generate()?;
            let files = key.write_pair(&out, force)?;
            ui::status(format!(
                "wrote {} (private: keep it secret) and {} (public: put it in `trust.keys`)",
                files.private.display(),
                files.public.display()
            ));
            println!("{}", key.public().fingerprint());
            Ok(())
        }
    }
}

pub fn sign(global: &GlobalArgs, args: SignArgs) -> anyhow::Result<()> {
    let image = parse_image(&args.image)?;
    let key = SigningKey::load(&args.key)?;
    let store = open_store(global)?;
    let signed = trust::sign(&store, &image, &key)?;
    println!(
        "signed {}@{} with {}",
        signed.image, signed.digest, signed.key
    );
    Ok(())
}

pub fn verify(global: &GlobalArgs, args: VerifyArgs) -> anyhow::Result<()> {
    let image = parse_image(&args.image)?;
    // Keys and policy are checked before the store, so a typo in them is
    // reported even when the image is missing too.
    let policy = match &args.policy {
        Some(path) => Some(policy_from_config(
            &config::load(std::slice::from_ref(path))?.trust,
            &[],
        )?),
        None => None,
    };
    let keys = args
        .key
        .iter()
        .map(|p| PublicKey::load(p))
        .collect::<Result<Vec<_>, _>>()?;
    let store = open_store(global)?;
    let digest = descriptor_digest(&trust::resolve(&store, &image)?);
    // A signature vouches for digests; the bytes on disk must still match them.
    check_image(&store, &digest, None)?;
    let name = image.store_name();
    if let (Some(policy), Some(path)) = (policy, &args.policy) {
        match policy.check(&store, &image, &digest)? {
            Verdict::Verified { key, origin, .. } => {
                println!("verified {name}@{digest} by {key} ({origin})");
            }
            Verdict::AllowedUnsigned { origin } => {
                println!(
                    "allowed unsigned {name}@{digest}: the trust policy of {} lets it be used without a signature ({origin})",
                    path.display()
                );
            }
        }
        return Ok(());
    }
    let verified = trust::verify(&store, &image, &digest, &keys)?;
    println!(
        "verified {}@{} by {}",
        verified.image, verified.digest, verified.key
    );
    Ok(())
}

fn parse_image(s: &str) -> anyhow::Result<ImageRef> {
    Ok(s.parse::<ImageRef>()?)
}

fn open_store(global: &GlobalArgs) -> anyhow::Result<Store> {
    let root = global.store.clone().unwrap_or_else(Store::default_root);
    Store::open(&root).with_context(|| format!("cannot open image store {}", root.display()))
}
