//! The development key: what `cairn pkg build` signs with when given no
//! `--key`, created on first use. Configs name it with `development: true`
//! rather than a path, because where it lives differs per machine and user.
//! It is meant for local work: whoever can write to the user's config
//! folder can sign with it, so builds that trust it say so.

use std::path::PathBuf;

use super::TrustError;
use super::key::{KeyFiles, PublicKey};

/// `$XDG_CONFIG_HOME/cairn/dev`, else `~/.config/cairn/dev`: the path
/// prefix of `dev.key` and `dev.pub`.
pub fn prefix() -> PathBuf {
    std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from(".config"))
        .join("cairn")
        .join("dev")
}

/// Where the development public key is (`dev.pub`).
pub fn public_path() -> PathBuf {
    KeyFiles::for_prefix(&prefix()).public
}

/// The development public key, for a config entry named by `origin`.
pub fn public_key(origin: &str) -> Result<PublicKey, TrustError> {
    let path = public_path();
    if !path.exists() {
        return Err(TrustError::NoDevelopmentKey {
            origin: origin.to_string(),
            path,
        });
    }
    PublicKey::load(&path)
}
