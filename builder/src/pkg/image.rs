//! OCI image config, manifest and index for a package. Written with cairn's
//! own serde structs so that field order and map order (sorted) are fixed:
//! the same layers give the same bytes.

use std::collections::BTreeMap;

use serde::Serialize;

use super::layer::Layer;
use super::spec::{ImageConfig, Label};
use crate::arch::Arch;
use crate::oci::{Digest, Store, StoreError};

pub const LABEL: &str = "org.mobyproject.config";
const CONFIG_TYPE: &str = "application/vnd.oci.image.config.v1+json";
const MANIFEST_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
const INDEX_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const LAYER_TYPE: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    fn of(arch: Arch) -> Platform {
        Platform {
            architecture: arch.name().to_string(),
            os: "linux".to_string(),
            variant: (arch == Arch::Arm64).then(|| "v8".to_string()),
        }
    }
}

#[derive(Serialize)]
struct Config<'a> {
    architecture: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    os: &'a str,
    created: &'a str,
    config: RunConfig<'a>,
    rootfs: RootFs<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    env: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    entrypoint: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cmd: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: BTreeMap<&'a str, &'a str>,
}

#[derive(Serialize)]
struct RootFs<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    diff_ids: Vec<&'a Digest>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Manifest<'a> {
    schema_version: u32,
    media_type: &'a str,
    config: Descriptor,
    layers: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Index<'a> {
    schema_version: u32,
    media_type: &'a str,
    manifests: &'a [Descriptor],
}

fn put(store: &Store, value: &impl Serialize, media_type: &str) -> Result<Descriptor, StoreError> {
    // Serializing these plain structs cannot fail.
    let bytes = serde_json::to_vec(value).unwrap_or_default();
    let digest = store.put_bytes(&bytes)?;
    Ok(Descriptor {
        media_type: media_type.to_string(),
        digest,
        size: bytes.len() as u64,
        platform: None,
    })
}

/// Writes the config and manifest of one architecture's image; returns the
/// manifest descriptor with its platform, for the index.
pub fn write_image(
    store: &Store,
    arch: Arch,
    layer: &Layer,
    run: &ImageConfig,
    label: Option<&Label>,
    created: &str,
) -> Result<Descriptor, StoreError> {
    let platform = Platform::of(arch);
    let labels = label
        .map(|l| (LABEL, l.json.as_str()))
        .into_iter()
        .collect();
    let config = Config {
        architecture: arch.name(),
        variant: platform.variant.as_deref(),
        os: "linux",
        created,
        config: RunConfig {
            env: &run.env,
            entrypoint: &run.entrypoint,
            cmd: &run.cmd,
            working_dir: run.working_dir.as_deref(),
            labels,
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: vec![&layer.diff_id],
        },
    };
    let config = put(store, &config, CONFIG_TYPE)?;
    let manifest = Manifest {
        schema_version: 2,
        media_type: MANIFEST_TYPE,
        config,
        layers: vec![Descriptor {
            media_type: LAYER_TYPE.to_string(),
            digest: layer.digest.clone(),
            size: layer.size,
            platform: None,
        }],
    };
    let mut descriptor = put(store, &manifest, MANIFEST_TYPE)?;
    descriptor.platform = Some(platform);
    Ok(descriptor)
}

/// Writes the index of all architectures' manifests.
pub fn write_index(store: &Store, manifests: &[Descriptor]) -> Result<Descriptor, StoreError> {
    let index = Index {
        schema_version: 2,
        media_type: INDEX_TYPE,
        manifests,
    };
    put(store, &index, INDEX_TYPE)
}

/// RFC 3339 in UTC for a Unix time, as image configs write `created`.
pub fn rfc3339(secs: u64) -> String {
    let days = secs / 86_400;
    let rem = secs % 86_400;
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_times() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
    }

    #[test]
    fn images_and_index_parse_back_with_their_platforms() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let layer_digest = store.put_bytes(b"layer").unwrap();
        let layer = Layer {
            digest: layer_digest,
            diff_id: Digest::of(b"tar"),
            size: 5,
        };
        let label = Label {
            json: r#"{"readonly":true}"#.into(),
        };
        let run = ImageConfig {
            entrypoint: vec!["/usr/sbin/runc".into()],
            ..ImageConfig::default()
        };
        let m: Vec<Descriptor> = Arch::ALL
            .iter()
            .map(|&a| write_image(&store, a, &layer, &run, Some(&label), &rfc3339(0)).unwrap())
            .collect();
        let index = write_index(&store, &m).unwrap();
        let parsed = store.read_manifest(&index.digest).unwrap();
        assert_eq!(
            parsed.children(),
            [m[0].digest.clone(), m[1].digest.clone()]
        );
        let image = store.read_manifest(&m[1].digest).unwrap();
        let config: serde_json::Value =
            serde_json::from_slice(&store.read_blob(&image.children()[0]).unwrap()).unwrap();
        assert_eq!(config["architecture"], "arm64");
        assert_eq!(config["config"]["Labels"][LABEL], r#"{"readonly":true}"#);
        assert_eq!(
            config["rootfs"]["diff_ids"][0],
            Digest::of(b"tar").to_string()
        );
    }
}
