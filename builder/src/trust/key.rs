//! ed25519 key pairs: PKCS#8 PEM private keys, SPKI PEM public keys, and the
//! key id (`sha256:` of the SPKI DER) that names a key in signatures and
//! messages. The same files work with OpenSSL (`openssl pkey -in K.key`).

use std::fmt;
use std::fs::{self, Permissions};
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::spki::SubjectPublicKeyInfoRef;
use ed25519_dalek::pkcs8::{
    Document, EncodePrivateKey, EncodePublicKey, PrivateKeyInfo, SecretDocument,
};
use ed25519_dalek::{Signature, Signer, VerifyingKey};
use rand_core::OsRng;

use super::TrustError;
use super::pem::{check_algorithm, pem_block};
use crate::oci::Digest;

const PRIVATE_LABEL: &str = "PRIVATE KEY";
const PUBLIC_LABEL: &str = "PUBLIC KEY";

type Result<T> = std::result::Result<T, TrustError>;

/// A public key that verifies signatures, with where it came from (a file or
/// a config entry) so that messages can point at it.
#[derive(Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    fingerprint: String,
    origin: String,
}

impl PublicKey {
    /// Parses an SPKI PEM public key; `origin` names it in errors.
    pub fn from_pem(pem: &str, origin: impl Into<String>) -> Result<PublicKey> {
        let origin = origin.into();
        let (label, block) = pem_block(pem, &origin)?;
        if label != PUBLIC_LABEL {
            return Err(if label.contains(PRIVATE_LABEL) {
                TrustError::PrivateNotPublic { origin }
            } else {
                TrustError::WrongPemLabel {
                    origin,
                    label: label.to_string(),
                    expected: PUBLIC_LABEL,
                }
            });
        }
        let (_, doc) = Document::from_pem(block).map_err(|e| bad_key(&origin, e))?;
        let spki =
            SubjectPublicKeyInfoRef::try_from(doc.as_bytes()).map_err(|e| bad_key(&origin, e))?;
        check_algorithm(spki.algorithm.oid, &origin)?;
        let key = VerifyingKey::try_from(spki).map_err(|e| bad_key(&origin, e))?;
        PublicKey::new(key, origin)
    }

    /// Reads a public key file.
    pub fn load(path: &Path) -> Result<PublicKey> {
        let pem = read_key_file(path)?;
        PublicKey::from_pem(&pem, path.display().to_string())
    }

    fn new(key: VerifyingKey, origin: String) -> Result<PublicKey> {
        let der = key.to_public_key_der().map_err(|e| bad_key(&origin, e))?;
        Ok(PublicKey {
            key,
            fingerprint: Digest::of(der.as_bytes()).to_string(),
            origin,
        })
    }

    /// The key id: `sha256:<hex>` of the SPKI DER encoding.
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// Where the key came from: a file path or a config entry.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The same key, named differently in messages.
    pub fn with_origin(mut self, origin: impl Into<String>) -> PublicKey {
        self.origin = origin.into();
        self
    }

    /// `sha256:… (origin)`, the form used in messages.
    pub fn describe(&self) -> String {
        format!("{} ({})", self.fingerprint, self.origin)
    }

    /// The SPKI PEM text.
    pub fn to_pem(&self) -> Result<String> {
        self.key
            .to_public_key_pem(Default::default())
            .map_err(|e| bad_key(&self.origin, e))
    }

    /// Strict verification: rejects the malleable and small-order forms
    /// that plain ed25519 verification lets through.
    pub(crate) fn verifies(&self, message: &[u8], signature: &Signature) -> bool {
        self.key.verify_strict(message, signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.describe())
    }
}

impl PartialEq for PublicKey {
    fn eq(&self, other: &PublicKey) -> bool {
        self.fingerprint == other.fingerprint
    }
}

impl Eq for PublicKey {}

/// A private key. Its `Debug` output never shows the secret.
pub struct SigningKey {
    key: ed25519_dalek::SigningKey,
    public: PublicKey,
}

/// The two files of a key pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyFiles {
    pub private: PathBuf,
    pub public: PathBuf,
}

impl KeyFiles {
    /// `PREFIX.key` and `PREFIX.pub`.
    pub fn for_prefix(prefix: &Path) -> KeyFiles {
        let with = |ext: &str| {
            let mut s = prefix.as_os_str().to_os_string();
            s.push(ext);
            PathBuf::from(s)
        };
        KeyFiles {
            private: with(".key"),
            public: with(".pub"),
        }
    }
}

impl SigningKey {
    /// A new key from the operating system's random source.
    pub fn generate() -> Result<SigningKey> {
        let key = ed25519_dalek::SigningKey::generate(&mut OsRng);
        SigningKey::from_dalek(key, "new key".to_string())
    }

    fn from_dalek(key: ed25519_dalek::SigningKey, origin: String) -> Result<SigningKey> {
        let public = PublicKey::new(key.verifying_key(), origin)?;
        Ok(SigningKey { key, public })
    }

    /// Parses a PKCS#8 PEM private key; `origin` names it in errors.
    pub fn from_pem(pem: &str, origin: impl Into<String>) -> Result<SigningKey> {
        let origin = origin.into();
        let (label, block) = pem_block(pem, &origin)?;
        if label == PUBLIC_LABEL {
            return Err(TrustError::PublicNotPrivate { origin });
        }
        if label != PRIVATE_LABEL {
            return Err(TrustError::WrongPemLabel {
                origin,
                label: label.to_string(),
                expected: PRIVATE_LABEL,
            });
        }
        let (_, doc) = SecretDocument::from_pem(block).map_err(|e| bad_key(&origin, e))?;
        let info = PrivateKeyInfo::try_from(doc.as_bytes()).map_err(|e| bad_key(&origin, e))?;
        check_algorithm(info.algorithm.oid, &origin)?;
        let key = ed25519_dalek::SigningKey::try_from(info).map_err(|e| bad_key(&origin, e))?;
        SigningKey::from_dalek(key, origin)
    }

    /// Reads a private key file, warning when other users can read it.
    pub fn load(path: &Path) -> Result<SigningKey> {
        let pem = read_key_file(path)?;
        let key = SigningKey::from_pem(&pem, path.display().to_string())?;
        if let Ok(meta) = fs::metadata(path)
            && meta.mode() & 0o004 != 0
        {
            tracing::warn!(
                "private key {} is readable by every user of this machine; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
        Ok(key)
    }

    pub fn public(&self) -> &PublicKey {
        &self.public
    }

    pub(crate) fn sign(&self, message: &[u8]) -> Signature {
        self.key.sign(message)
    }

    /// Writes `PREFIX.key` (mode 0600 from the moment it exists) and
    /// `PREFIX.pub`. Existing files are kept unless `force`.
    pub fn write_pair(&self, prefix: &Path, force: bool) -> Result<KeyFiles> {
        let files = KeyFiles::for_prefix(prefix);
        if !force {
            for path in [&files.private, &files.public] {
                if fs::symlink_metadata(path).is_ok() {
                    return Err(TrustError::KeyExists { path: path.clone() });
                }
            }
        }
        // PKCS#8 v1 (no embedded public key): OpenSSL 3.0, Debian 12's, reads
        // only that form of ed25519 key.
        let v1 = ed25519_dalek::pkcs8::KeypairBytes {
            secret_key: self.key.to_bytes(),
            public_key: None,
        };
        let private = v1
            .to_pkcs8_pem(Default::default())
            .map_err(|e| bad_key(&files.private.display().to_string(), e))?;
        write_new(&files.private, private.as_bytes(), 0o600, force)?;
        write_new(
            &files.public,
            self.public.to_pem()?.as_bytes(),
            0o644,
            force,
        )?;
        Ok(files)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.public.describe())
    }
}

/// Writes through a temporary file in the target folder, created with its
/// final mode, so a private key is never readable by others, not even while
/// half written, and a crash leaves no truncated key behind.
fn write_new(path: &Path, bytes: &[u8], mode: u32, force: bool) -> Result<()> {
    let write_err = |source: io::Error| TrustError::KeyWrite {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cairn-key-")
        .permissions(Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(write_err)?;
    tmp.write_all(bytes).map_err(write_err)?;
    tmp.as_file().sync_all().map_err(write_err)?;
    let persisted = if force {
        tmp.persist(path)
    } else {
        tmp.persist_noclobber(path)
    };
    persisted.map_err(|e| match e.error.kind() {
        io::ErrorKind::AlreadyExists => TrustError::KeyExists {
            path: path.to_path_buf(),
        },
        _ => write_err(e.error),
    })?;
    Ok(())
}

/// A PEM key of any kind cairn reads is well under this; a larger file is
/// not a key, and is refused before it is read.
const MAX_KEY_FILE: u64 = 64 * 1024;

fn read_key_file(path: &Path) -> Result<String> {
    let read = |source| TrustError::KeyRead {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(read)?;
    let meta = file.metadata().map_err(read)?;
    if !meta.is_file() {
        return Err(TrustError::NotPem {
            origin: path.display().to_string(),
            reason: "it is not a regular file".into(),
        });
    }
    let mut bytes = Vec::new();
    io::Read::read_to_end(&mut io::Read::take(file, MAX_KEY_FILE + 1), &mut bytes).map_err(read)?;
    if bytes.len() as u64 > MAX_KEY_FILE {
        return Err(TrustError::NotPem {
            origin: path.display().to_string(),
            reason: format!(
                "it is larger than {} KiB, far more than a key",
                MAX_KEY_FILE / 1024
            ),
        });
    }
    String::from_utf8(bytes).map_err(|_| TrustError::NotPem {
        origin: path.display().to_string(),
        reason: "the file is binary, not text".into(),
    })
}

fn bad_key(origin: &str, e: impl fmt::Display) -> TrustError {
    TrustError::BadKey {
        origin: origin.to_string(),
        reason: e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED448_PUB: &str = "-----BEGIN PUBLIC KEY-----\n\
        MEMwBQYDK2VxAzoANL4AyeRibg4g3JCoAq4oBOFbSnGBJalfJgHhntHKKfB7yE/I\n\
        OSx8nlidrXgNwcml7pb3X+sVpgUA\n-----END PUBLIC KEY-----\n";
    const OPENSSL_ED25519: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINwTGcHla/kyksGUBEZEIhhSTVYuKSOmMqv2GLXQ4nSN\n\
        -----END PRIVATE KEY-----\n";

    fn pair() -> (tempfile::TempDir, SigningKey, KeyFiles) {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::generate().unwrap();
        let files = key.write_pair(&dir.path().join("release"), false).unwrap();
        (dir, key, files)
    }

    #[test]
    fn private_key_file_is_only_readable_by_its_owner() {
        let (_d, _k, files) = pair();
        let mode = fs::metadata(&files.private).unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert!(files.private.ends_with("release.key"));
        assert!(files.public.ends_with("release.pub"));
    }

    #[test]
    fn written_keys_load_back_with_the_same_fingerprint() {
        let (_d, key, files) = pair();
        let private = SigningKey::load(&files.private).unwrap();
        let public = PublicKey::load(&files.public).unwrap();
        assert_eq!(private.public().fingerprint(), key.public().fingerprint());
        assert_eq!(public.fingerprint(), key.public().fingerprint());
        assert!(public.fingerprint().starts_with("sha256:"));
        let sig = private.sign(b"payload");
        assert!(public.verifies(b"payload", &sig));
        assert!(!public.verifies(b"payload2", &sig));
    }

    #[test]
    fn existing_key_is_not_overwritten_without_force() {
        let (d, _k, files) = pair();
        let before = fs::read(&files.private).unwrap();
        let other = SigningKey::generate().unwrap();
        let err = other
            .write_pair(&d.path().join("release"), false)
            .unwrap_err();
        assert!(matches!(err, TrustError::KeyExists { .. }), "{err}");
        assert!(err.to_string().contains("--force"));
        assert_eq!(fs::read(&files.private).unwrap(), before);
        other.write_pair(&d.path().join("release"), true).unwrap();
        assert_ne!(fs::read(&files.private).unwrap(), before);
        assert_eq!(fs::metadata(&files.private).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn private_key_given_as_public_key_is_refused_with_the_file_named() {
        let (_d, _k, files) = pair();
        let err = PublicKey::load(&files.private).unwrap_err();
        assert!(matches!(err, TrustError::PrivateNotPublic { .. }));
        assert!(err.to_string().contains("release.key"), "{err}");
        let err = SigningKey::load(&files.public).unwrap_err();
        assert!(matches!(err, TrustError::PublicNotPrivate { .. }));
        assert!(err.to_string().contains("release.pub"), "{err}");
    }

    #[test]
    fn non_pem_and_non_ed25519_keys_are_refused() {
        let err = PublicKey::from_pem("ssh-ed25519 AAAA", "k.pub").unwrap_err();
        assert!(matches!(err, TrustError::NotPem { .. }), "{err}");
        let err = PublicKey::from_pem(ED448_PUB, "ed448.pub").unwrap_err();
        assert!(err.to_string().contains("Ed448"), "{err}");
        let cert = "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n";
        let err = PublicKey::from_pem(cert, "c.pem").unwrap_err();
        assert!(matches!(err, TrustError::WrongPemLabel { .. }), "{err}");
        let err = PublicKey::from_pem("-----BEGIN PUBLIC KEY-----\nAA==\n", "x").unwrap_err();
        assert!(matches!(err, TrustError::NotPem { .. }), "{err}");
    }

    #[test]
    fn openssl_generated_ed25519_keys_are_accepted() {
        let key = SigningKey::from_pem(OPENSSL_ED25519, "openssl.key").unwrap();
        let pem = key.public().to_pem().unwrap();
        let public = PublicKey::from_pem(&pem, "openssl.pub").unwrap();
        assert_eq!(public, *key.public());
    }

    #[test]
    fn debug_output_does_not_reveal_the_secret() {
        let key = SigningKey::from_pem(OPENSSL_ED25519, "openssl.key").unwrap();
        let shown = format!("{key:?}");
        assert!(shown.contains("sha256:"));
        assert!(!shown.contains("MC4CAQ"));
    }

    #[test]
    fn a_huge_or_non_regular_key_file_is_refused_before_it_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let huge = dir.path().join("huge.pub");
        fs::File::create(&huge)
            .and_then(|f| f.set_len(1536 << 20))
            .unwrap();
        let err = PublicKey::load(&huge).unwrap_err().to_string();
        assert!(err.contains("larger than 64 KiB"), "{err}");
        let err = PublicKey::load(Path::new("/dev/zero"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a regular file"), "{err}");
    }
}
