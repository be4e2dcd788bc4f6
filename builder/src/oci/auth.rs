//! Registry credentials from Docker's `config.json` (`auths.<host>.auth`,
//! base64 of `user:password`). Credential helpers are not consulted; a
//! registry without an entry is used anonymously.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use oci_client::secrets::RegistryAuth;

use super::registry::RegistryError;

/// Usernames and passwords by registry host.
#[derive(Clone, Default)]
pub struct Credentials {
    by_host: BTreeMap<String, (String, String)>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print passwords, not even in debug output.
        f.debug_set().entries(self.by_host.keys()).finish()
    }
}

#[derive(serde::Deserialize)]
struct DockerConfig {
    #[serde(default)]
    auths: BTreeMap<String, AuthEntry>,
}

#[derive(serde::Deserialize)]
struct AuthEntry {
    auth: Option<String>,
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(PathBuf::from(dir).join("config.json"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker").join("config.json"))
}

impl Credentials {
    /// Reads `path` (or the default location). A missing file means no
    /// credentials; a file that is there but unreadable is an error.
    pub fn load(path: Option<&Path>) -> Result<Credentials, RegistryError> {
        let Some(path) = path.map(Path::to_path_buf).or_else(default_path) else {
            return Ok(Credentials::default());
        };
        let bad = |source| RegistryError::BadCredentials {
            path: path.clone(),
            source,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Credentials::default());
            }
            Err(e) => return Err(bad(e)),
        };
        Credentials::parse(&text).map_err(|reason| bad(std::io::Error::other(reason)))
    }

    fn parse(text: &str) -> Result<Credentials, String> {
        let config: DockerConfig =
            serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
        let mut by_host = BTreeMap::new();
        for (key, entry) in config.auths {
            let Some(encoded) = entry.auth else { continue };
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| format!("auths.{key}.auth is not base64"))?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| format!("auths.{key}.auth is not UTF-8 text"))?;
            let (user, pass) = decoded
                .split_once(':')
                .ok_or_else(|| format!("auths.{key}.auth is not user:password"))?;
            by_host.insert(normalize(&key), (user.to_string(), pass.to_string()));
        }
        Ok(Credentials { by_host })
    }

    /// The credentials for a registry as `oci-client` resolves it (Docker
    /// Hub is `index.docker.io`), or anonymous access.
    pub fn for_registry(&self, registry: &str) -> RegistryAuth {
        match self.by_host.get(&normalize(registry)) {
            Some((user, pass)) => RegistryAuth::Basic(user.clone(), pass.clone()),
            None => RegistryAuth::Anonymous,
        }
    }
}

/// Docker writes keys as `host`, `https://host` or `https://host/v1/`; Docker
/// Hub goes by several names.
fn normalize(key: &str) -> String {
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or(key);
    match host {
        "docker.io" | "registry-1.docker.io" | "index.docker.io" => "index.docker.io".to_string(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_entries_are_decoded_and_docker_hub_names_match() {
        let c = Credentials::parse(
            r#"{"auths":{"https://index.docker.io/v1/":{"auth":"dXNlcjpwYXNz"},"reg.example:5000":{"auth":"YTpiOmM="},"helper.example":{}}}"#,
        )
        .unwrap();
        assert!(matches!(c.for_registry("index.docker.io"),
            RegistryAuth::Basic(u, p) if u == "user" && p == "pass"));
        assert!(matches!(c.for_registry("reg.example:5000"),
            RegistryAuth::Basic(u, p) if u == "a" && p == "b:c"));
        assert!(matches!(
            c.for_registry("helper.example"),
            RegistryAuth::Anonymous
        ));
        assert!(!format!("{c:?}").contains("pass"));
    }

    #[test]
    fn broken_auth_entry_is_reported_with_its_key() {
        let e = Credentials::parse(r#"{"auths":{"r.example":{"auth":"!!"}}}"#)
            .err()
            .unwrap();
        assert!(e.contains("auths.r.example.auth"), "{e}");
    }

    #[test]
    fn missing_config_file_means_anonymous_access() {
        let dir = tempfile::tempdir().unwrap();
        let c = Credentials::load(Some(&dir.path().join("none.json"))).unwrap();
        assert!(matches!(
            c.for_registry("x.example"),
            RegistryAuth::Anonymous
        ));
    }
}
