//! A config's `trust:` section (and `--allow-unsigned`) as a [`Policy`].
//! The trust module knows nothing of the config types; this is where the
//! two meet.

use crate::config::{KeySource, Trust};
use crate::trust::{AllowUnsigned, Policy, PublicKey, Rule, development};

use super::PlanError;

/// The policy `trust` describes, with `allow_unsigned` patterns from the
/// command line added. Each key is named in messages by its place in the
/// config (`trust.keys[0] (release)`).
pub fn policy_from_config(trust: &Trust, allow_unsigned: &[String]) -> Result<Policy, PlanError> {
    let policy_err = |source| PlanError::Policy {
        source: Box::new(source),
    };
    let mut rules = Vec::with_capacity(trust.keys.len());
    for (i, entry) in trust.keys.iter().enumerate() {
        let origin = match &entry.name {
            Some(name) => format!("trust.keys[{i}] ({name})"),
            None => format!("trust.keys[{i}]"),
        };
        let key = match &entry.source {
            KeySource::Path(path) => PublicKey::load(path).map_err(policy_err)?,
            KeySource::Pem(pem) => PublicKey::from_pem(pem, origin.clone()).map_err(policy_err)?,
            KeySource::Development => development::public_key(&origin).map_err(policy_err)?,
        };
        rules.push(Rule {
            key: key.with_origin(origin.clone()),
            origin,
            patterns: entry.images.clone(),
            development: entry.source == KeySource::Development,
        });
    }
    let from_config = (trust.allow_unsigned.iter().enumerate()).map(|(i, p)| AllowUnsigned {
        pattern: p.clone(),
        origin: format!("trust.allow_unsigned[{i}]"),
    });
    let from_flags = allow_unsigned.iter().map(|p| AllowUnsigned {
        pattern: p.clone(),
        origin: "--allow-unsigned".into(),
    });
    Ok(Policy {
        rules,
        org: trust.org.clone(),
        image: trust.image.clone(),
        allow_unsigned: from_config.chain(from_flags).collect(),
    })
}
