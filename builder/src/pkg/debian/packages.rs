//! The `Packages` index of one suite, component and architecture, and the
//! dependency fields of its stanzas.

use super::deb822;
use super::version::Op;

/// One binary package as the index describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    pub name: String,
    pub version: String,
    /// `amd64`, `arm64` or `all`.
    pub architecture: String,
    /// Raw `Depends` and `Pre-Depends`; parsed with [`parse_relations`] only
    /// for the packages a resolution visits.
    pub depends: String,
    pub pre_depends: String,
    pub provides: Vec<Relation>,
    /// The pool path below the archive's base URL.
    pub filename: String,
    pub size: u64,
    pub sha256: String,
    pub essential: bool,
    pub priority: String,
    pub multi_arch: String,
}

/// `name[:arch] [(op version)]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation {
    pub name: String,
    /// `any`, `native` or an architecture, from `name:arch`.
    pub arch: Option<String>,
    pub constraint: Option<(Op, String)>,
}

impl std::fmt::Display for Relation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name)?;
        if let Some(a) = &self.arch {
            write!(f, ":{a}")?;
        }
        if let Some((op, v)) = &self.constraint {
            write!(f, " ({} {v})", op.as_str())?;
        }
        Ok(())
    }
}

/// Parses a Packages file. An error names the stanza's line and the problem.
pub fn parse_packages(text: &str) -> Result<Vec<Package>, String> {
    let paras = deb822::parse(text)?;
    let mut out = Vec::with_capacity(paras.len());
    for p in paras {
        let need = |field: &str| -> Result<String, String> {
            p.get(field)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("line {}: stanza without {field}", p.line))
        };
        let name = need("Package")?;
        let size = need("Size")?
            .parse()
            .map_err(|_| format!("line {}: {name} has a bad Size", p.line))?;
        let sha256 = need("SHA256")?.to_ascii_lowercase();
        if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(format!("line {}: {name} has a bad SHA256", p.line));
        }
        let filename = need("Filename")?;
        if filename.starts_with('/') || filename.split('/').any(|c| c == ".." || c.is_empty()) {
            return Err(format!(
                "line {}: {name} has a bad Filename {filename:?}",
                p.line
            ));
        }
        let provides = parse_relations(p.get("Provides").unwrap_or(""))
            .map_err(|e| format!("line {}: {name} has a bad Provides: {e}", p.line))?
            .into_iter()
            .flatten()
            .collect();
        out.push(Package {
            version: need("Version")?,
            architecture: need("Architecture")?,
            depends: p.get("Depends").unwrap_or("").to_string(),
            pre_depends: p.get("Pre-Depends").unwrap_or("").to_string(),
            provides,
            filename,
            size,
            sha256,
            essential: p.get("Essential") == Some("yes"),
            priority: p.get("Priority").unwrap_or("optional").to_string(),
            multi_arch: p.get("Multi-Arch").unwrap_or("no").to_string(),
            name,
        });
    }
    Ok(out)
}

/// Parses `a (>= 1) | b, c:any` into groups of alternatives.
pub fn parse_relations(field: &str) -> Result<Vec<Vec<Relation>>, String> {
    let mut groups = Vec::new();
    for group in field.split(',') {
        let group = group.trim();
        if group.is_empty() {
            continue;
        }
        let alts = group
            .split('|')
            .map(|alt| parse_relation(alt.trim()))
            .collect::<Result<Vec<_>, _>>()?;
        groups.push(alts);
    }
    Ok(groups)
}

fn parse_relation(text: &str) -> Result<Relation, String> {
    // Architecture lists and build profiles belong to source packages; a
    // binary index never has them, so their presence is an error.
    if text.contains(['[', '<']) && !text.contains('(') {
        return Err(format!("unexpected restriction in {text:?}"));
    }
    let (head, constraint) = match text.split_once('(') {
        Some((head, rest)) => {
            let inner = rest
                .strip_suffix(')')
                .ok_or_else(|| format!("unclosed parenthesis in {text:?}"))?
                .trim();
            let split = inner
                .find(|c: char| !matches!(c, '<' | '>' | '='))
                .ok_or_else(|| format!("no version in {text:?}"))?;
            let (op, version) = inner.split_at(split);
            let op = Op::parse(op.trim()).ok_or_else(|| format!("bad relation in {text:?}"))?;
            let version = version.trim();
            if version.is_empty() || version.contains(char::is_whitespace) {
                return Err(format!("bad version in {text:?}"));
            }
            (head.trim(), Some((op, version.to_string())))
        }
        None => (text, None),
    };
    let (name, arch) = match head.split_once(':') {
        Some((n, a)) => (n, Some(a.to_string())),
        None => (head, None),
    };
    let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c);
    if name.is_empty() || !name.chars().all(valid) {
        return Err(format!("bad package name in {text:?}"));
    }
    Ok(Relation {
        name: name.to_string(),
        arch,
        constraint,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = "Package: runc
Version: 1.1.5+ds1-1+deb12u1
Architecture: amd64
Depends: libc6 (>= 2.34), libseccomp2 (>= 2.5.0)
Filename: pool/main/r/runc/runc_1.1.5+ds1-1+deb12u1_amd64.deb
Size: 2816348
SHA256: 6B0D2B7F8C2E4D9C2F6A1E5B3C4D5E6F7A8B9C0D1E2F3A4B5C6D7E8F9A0B1C2D
Priority: optional
Description: Open Container Project - runtime
 more description

Package: mawk
Version: 1.3.4.20200120-3.1
Architecture: amd64
Pre-Depends: libc6 (>= 2.34)
Provides: awk
Multi-Arch: foreign
Filename: pool/main/m/mawk/mawk_1.3.4.20200120-3.1_amd64.deb
Size: 120000
SHA256: 0000000000000000000000000000000000000000000000000000000000000001
Priority: required
Essential: yes
";

    #[test]
    fn stanzas_become_packages_with_the_fields_cairn_uses() {
        let pkgs = parse_packages(INDEX).expect("parse");
        assert_eq!(pkgs.len(), 2);
        let runc = &pkgs[0];
        assert_eq!(runc.name, "runc");
        assert_eq!(runc.version, "1.1.5+ds1-1+deb12u1");
        assert_eq!(runc.size, 2_816_348);
        assert!(runc.sha256.starts_with("6b0d2b"));
        assert_eq!(runc.depends, "libc6 (>= 2.34), libseccomp2 (>= 2.5.0)");
        assert!(!runc.essential);
        let mawk = &pkgs[1];
        assert!(mawk.essential);
        assert_eq!(mawk.priority, "required");
        assert_eq!(mawk.multi_arch, "foreign");
        assert_eq!(mawk.pre_depends, "libc6 (>= 2.34)");
        assert_eq!(mawk.provides[0].name, "awk");
    }

    #[test]
    fn a_stanza_without_a_checksum_is_an_error_with_its_line() {
        let err = parse_packages(
            "Package: a\nVersion: 1\nArchitecture: all\nFilename: pool/a.deb\nSize: 1\n",
        )
        .expect_err("no sha");
        assert!(err.contains("line 1") && err.contains("SHA256"), "{err}");
    }

    #[test]
    fn a_pool_path_that_climbs_out_is_refused() {
        let text = INDEX.replace("pool/main/r/runc/", "pool/../../etc/");
        let err = parse_packages(&text).expect_err("bad filename");
        assert!(err.contains("Filename"), "{err}");
    }

    #[test]
    fn relations_parse_alternatives_qualifiers_and_constraints() {
        let groups = parse_relations(
            "libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<<3.12),perl:native",
        )
        .expect("parse");
        assert_eq!(groups.len(), 4);
        assert_eq!(groups[1].len(), 2);
        assert_eq!(groups[1][0].constraint, Some((Op::Ge, "0.5".into())));
        assert_eq!(groups[1][1].name, "debconf-2.0");
        assert_eq!(groups[2][0].arch.as_deref(), Some("any"));
        assert_eq!(groups[2][0].constraint, Some((Op::Lt, "3.12".into())));
        assert_eq!(groups[3][0].to_string(), "perl:native");
        assert_eq!(groups[0][0].to_string(), "libc6 (>= 2.34)");
        assert!(parse_relations("").expect("empty").is_empty());
    }

    #[test]
    fn malformed_relations_are_errors() {
        for bad in [
            "libc6 (>= 2.34",
            "libc6 (~ 1)",
            "Libc6",
            "a (>=)",
            "a [amd64]",
        ] {
            assert!(parse_relations(bad).is_err(), "{bad}");
        }
    }
}
