//! The dependency closure of a package list for one architecture.
//!
//! Rules: one version per package, the highest any suite offers (ties go to
//! the suite listed first); `Pre-Depends` and `Depends` are followed;
//! in `a | b` an alternative already chosen wins, else the first one that is
//! satisfiable; virtual names resolve through `Provides`; `:any` and
//! `:native` mean the same architecture here; an excluded name satisfies
//! any group it appears in and is never added. Conflicts, Breaks and
//! Recommends are not considered: cairn images are built from explicit
//! lists, not upgraded in place.

use std::collections::{BTreeMap, HashMap, VecDeque};

use super::DebianError;
use super::index::Index;
use super::lock::LockedDeb;
use super::packages::{Package, Relation, parse_relations};
use super::version;

#[derive(Debug, Clone, Copy)]
struct Cand<'a> {
    pkg: &'a Package,
    suite: &'a str,
    component: &'a str,
}

/// Every package name available for one architecture.
#[derive(Debug)]
struct Universe<'a> {
    arch: &'a str,
    real: HashMap<&'a str, Cand<'a>>,
    /// Virtual name -> (provider, provided version).
    providers: HashMap<&'a str, Vec<(Cand<'a>, Option<&'a str>)>>,
}

impl<'a> Universe<'a> {
    fn new(indexes: &'a [Index], arch: &'a str) -> Universe<'a> {
        let mut real: HashMap<&str, Cand> = HashMap::new();
        for index in indexes.iter().filter(|i| i.arch == arch) {
            for pkg in &index.packages {
                if pkg.architecture != arch && pkg.architecture != "all" {
                    continue;
                }
                let cand = Cand {
                    pkg,
                    suite: &index.suite,
                    component: &index.component,
                };
                match real.get(pkg.name.as_str()) {
                    Some(old) if version::compare(&pkg.version, &old.pkg.version).is_le() => {}
                    _ => {
                        real.insert(&pkg.name, cand);
                    }
                }
            }
        }
        let mut providers: HashMap<&str, Vec<(Cand, Option<&str>)>> = HashMap::new();
        for cand in real.values() {
            for p in &cand.pkg.provides {
                let v = p.constraint.as_ref().map(|(_, v)| v.as_str());
                providers.entry(&p.name).or_default().push((*cand, v));
            }
        }
        for list in providers.values_mut() {
            list.sort_by(|a, b| {
                rank(a.0.pkg)
                    .cmp(&rank(b.0.pkg))
                    .then(a.0.pkg.name.cmp(&b.0.pkg.name))
            });
        }
        Universe {
            arch,
            real,
            providers,
        }
    }

    /// The packages that satisfy `rel`, best first.
    fn satisfiers(&self, rel: &Relation) -> Vec<Cand<'a>> {
        match rel.arch.as_deref() {
            None | Some("any" | "native") => {}
            Some(a) if a == self.arch => {}
            Some(_) => return Vec::new(),
        }
        let mut out = Vec::new();
        if let Some(c) = self.real.get(rel.name.as_str())
            && rel
                .constraint
                .as_ref()
                .is_none_or(|(op, v)| op.holds(&c.pkg.version, v))
        {
            out.push(*c);
        }
        for (c, provided) in self.providers.get(rel.name.as_str()).into_iter().flatten() {
            let ok = match (&rel.constraint, provided) {
                (None, _) => true,
                (Some((op, v)), Some(pv)) => op.holds(pv, v),
                (Some(_), None) => false,
            };
            if ok && !out.iter().any(|o: &Cand| o.pkg.name == c.pkg.name) {
                out.push(*c);
            }
        }
        out
    }

    /// Why nothing satisfies `rel`, for the error message.
    fn why_not(&self, rel: &Relation) -> String {
        if let Some(c) = self.real.get(rel.name.as_str()) {
            return format!("{} is at version {}", rel.name, c.pkg.version);
        }
        if self.providers.contains_key(rel.name.as_str()) {
            return format!("no provider of {} has a matching version", rel.name);
        }
        format!("{} is not in the index", rel.name)
    }

    /// Names close to `name`, for "did you mean".
    fn close_to(&self, name: &str) -> Vec<&'a str> {
        let mut scored: Vec<(usize, &str)> = self
            .real
            .keys()
            .chain(self.providers.keys())
            .filter_map(|n| {
                let d = strsim::levenshtein(n, name);
                let near = d <= 2 || (name.len() >= 3 && n.starts_with(name));
                near.then_some((d, *n))
            })
            .collect();
        scored.sort();
        scored.dedup();
        scored.into_iter().take(5).map(|(_, n)| n).collect()
    }
}

/// Required packages are the most likely to be what a bare virtual name means.
fn rank(pkg: &Package) -> u8 {
    match pkg.priority.as_str() {
        "required" => 0,
        "important" => 1,
        "standard" => 2,
        _ => 3,
    }
}

/// The closure of `packages` minus `exclude` for `arch`, sorted by name.
pub fn resolve(
    indexes: &[Index],
    arch: &str,
    packages: &[String],
    exclude: &[String],
) -> Result<Vec<LockedDeb>, DebianError> {
    let uni = Universe::new(indexes, arch);
    let excluded = |n: &str| exclude.iter().any(|e| e == n);
    let mut chosen: BTreeMap<&str, Cand> = BTreeMap::new();
    let mut queue: VecDeque<Cand> = VecDeque::new();
    // Requested packages are chosen first, so dependencies prefer them.
    for name in packages.iter().filter(|n| !excluded(n)) {
        let rel = Relation {
            name: name.clone(),
            arch: None,
            constraint: None,
        };
        let Some(c) = uni.satisfiers(&rel).into_iter().next() else {
            let close = uni.close_to(name);
            let hint = match close.is_empty() {
                true => String::new(),
                false => format!("; did you mean {}?", close.join(", ")),
            };
            return Err(DebianError::NotFound {
                name: name.clone(),
                arch: arch.to_string(),
                hint,
            });
        };
        if chosen.insert(&c.pkg.name, c).is_none() {
            queue.push_back(c);
        }
    }
    while let Some(cand) = queue.pop_front() {
        for group in relations(cand.pkg, arch)? {
            if group.iter().any(|r| excluded(&r.name)) {
                continue;
            }
            let options: Vec<Vec<Cand>> = group.iter().map(|r| uni.satisfiers(r)).collect();
            let already = options
                .iter()
                .flatten()
                .find(|c| chosen.contains_key(c.pkg.name.as_str()));
            if already.is_some() {
                continue;
            }
            let Some(pick) = options.iter().flatten().find(|c| !excluded(&c.pkg.name)) else {
                return Err(unsatisfiable(&uni, cand.pkg, &group));
            };
            chosen.insert(&pick.pkg.name, *pick);
            queue.push_back(*pick);
        }
    }
    Ok(chosen
        .into_values()
        .map(|c| LockedDeb {
            name: c.pkg.name.clone(),
            version: c.pkg.version.clone(),
            arch: c.pkg.architecture.clone(),
            suite: c.suite.to_string(),
            component: c.component.to_string(),
            filename: c.pkg.filename.clone(),
            sha256: c.pkg.sha256.clone(),
            size: c.pkg.size,
        })
        .collect())
}

fn relations(pkg: &Package, arch: &str) -> Result<Vec<Vec<Relation>>, DebianError> {
    let mut out = Vec::new();
    for (field, text) in [("Pre-Depends", &pkg.pre_depends), ("Depends", &pkg.depends)] {
        out.extend(
            parse_relations(text).map_err(|reason| DebianError::BadField {
                package: format!("{} {} ({arch})", pkg.name, pkg.version),
                field,
                reason,
            })?,
        );
    }
    Ok(out)
}

fn unsatisfiable(uni: &Universe, pkg: &Package, group: &[Relation]) -> DebianError {
    let dependency = group
        .iter()
        .map(|r| r.to_string())
        .collect::<Vec<_>>()
        .join(" | ");
    let reasons: Vec<String> = group.iter().map(|r| uni.why_not(r)).collect();
    DebianError::Unsatisfiable {
        package: format!("{} {} ({})", pkg.name, pkg.version, uni.arch),
        dependency,
        detail: format!(" ({})", reasons.join("; ")),
    }
}

#[cfg(test)]
mod tests;
