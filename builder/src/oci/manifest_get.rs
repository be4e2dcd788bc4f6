//! Fetching a manifest or index body with a size cap. oci-client reads a
//! manifest response whole, so a registry that answers with gigabytes
//! would exhaust memory before any digest or signature is checked. Here
//! the body is read in chunks and refused as soon as it passes
//! [`MAX_MANIFEST`]; oci-client still does the token dance (`auth`).

use base64::Engine as _;
use oci_client::Reference;
use oci_client::RegistryOperation;
use oci_client::errors::OciDistributionError;
use oci_client::secrets::RegistryAuth;

use super::registry::Session;

/// Manifests and indexes above this are refused. The distribution spec's
/// registries accept 4 MiB; real manifests are a few KiB.
pub const MAX_MANIFEST: usize = 4 << 20;
/// How much of an error response is kept for its message.
const MAX_ERROR_BODY: usize = 64 << 10;

/// A manifest response: its body and the digest the registry claims.
pub(super) enum Got {
    Body {
        bytes: Vec<u8>,
        digest: String,
    },
    /// The body passed the cap: `size` bytes read or announced.
    TooBig {
        size: u64,
    },
}

/// `SCHEME://REGISTRY/v2/REPOSITORY/` for `reference`.
fn repository_url(s: &Session, reference: &Reference) -> String {
    let scheme = if s.plain_http { "http" } else { "https" };
    format!(
        "{scheme}://{}/v2/{}/",
        reference.resolve_registry(),
        reference.repository()
    )
}

fn url(s: &Session, reference: &Reference) -> String {
    let target = reference
        .digest()
        .map(str::to_string)
        .unwrap_or_else(|| reference.tag().unwrap_or("latest").to_string());
    let ns = reference
        .namespace()
        .map(|ns| format!("?ns={ns}"))
        .unwrap_or_default();
    format!("{}manifests/{target}{ns}", repository_url(s, reference))
}

/// The referrers API's address for the digest `reference` pins, filtered
/// to one artifact type.
fn referrers_url(s: &Session, reference: &Reference, artifact_type: &str) -> String {
    let digest = reference.digest().unwrap_or_default();
    let ns = reference
        .namespace()
        .map(|ns| format!("&ns={ns}"))
        .unwrap_or_default();
    format!(
        "{}referrers/{digest}?artifactType={artifact_type}{ns}",
        repository_url(s, reference)
    )
}

/// GETs the manifest `reference` names, accepting `accepted` media types.
pub(super) async fn get(
    s: &Session,
    reference: &Reference,
    accepted: &[&str],
) -> Result<Got, OciDistributionError> {
    fetch(s, reference, url(s, reference), accepted).await
}

/// GETs the referrers index of the digest `reference` pins (an OCI image
/// index listing the artifacts whose subject it is), under the same cap as
/// manifests: a registry decides how long that list is.
pub(super) async fn get_referrers(
    s: &Session,
    reference: &Reference,
    artifact_type: &str,
) -> Result<Got, OciDistributionError> {
    let url = referrers_url(s, reference, artifact_type);
    fetch(
        s,
        reference,
        url,
        &["application/vnd.oci.image.index.v1+json"],
    )
    .await
}

async fn fetch(
    s: &Session,
    reference: &Reference,
    url: String,
    accepted: &[&str],
) -> Result<Got, OciDistributionError> {
    let token = s
        .client
        .auth(reference, &s.auth, RegistryOperation::Pull)
        .await?;
    let mut request = s.http.get(&url).header("Accept", accepted.join(", "));
    request = match (token, &s.auth) {
        (Some(token), _) => request.bearer_auth(token),
        (None, RegistryAuth::Basic(user, pass)) => {
            let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"));
            request.header("Authorization", format!("Basic {pair}"))
        }
        (None, _) => request,
    };
    let mut response = request.send().await?;
    let status = response.status();
    if !status.is_success() {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await? {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ERROR_BODY {
                body.truncate(MAX_ERROR_BODY);
                break;
            }
        }
        return Err(status_error(status, &body, &url));
    }
    if let Some(size) = response.content_length()
        && size > MAX_MANIFEST as u64
    {
        return Ok(Got::TooBig { size });
    }
    let digest = response
        .headers()
        .get("Docker-Content-Digest")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > MAX_MANIFEST {
            return Ok(Got::TooBig {
                size: (bytes.len() + chunk.len()) as u64,
            });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Got::Body { bytes, digest })
}

/// The error oci-client itself gives for a status, so retries and
/// messages treat both paths alike.
fn status_error(status: reqwest::StatusCode, body: &[u8], url: &str) -> OciDistributionError {
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return OciDistributionError::UnauthorizedError {
            url: url.to_string(),
        };
    }
    if status.is_client_error()
        && let Ok(envelope) = serde_json::from_slice(body)
    {
        return OciDistributionError::RegistryError {
            envelope,
            url: url.to_string(),
        };
    }
    OciDistributionError::ServerError {
        code: status.as_u16(),
        url: url.to_string(),
        message: String::from_utf8_lossy(body).into_owned(),
    }
}
