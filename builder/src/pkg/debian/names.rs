//! Debian's grammar for package names and versions (Policy 5.6.1 and
//! 5.6.12), checked before a name from build.yml or a lock is used in a
//! query, a path or a URL.

/// A package name: lower-case letters, digits, `+`, `-` and `.`, starting
/// with a letter or digit, at least two characters. `qualified` allows an
/// architecture qualifier (`:any`, `:native`, `:amd64`) as build.yml does.
pub fn check_name(name: &str, qualified: bool) -> Result<(), String> {
    let (base, qualifier) = match name.split_once(':') {
        Some((b, q)) if qualified => (b, Some(q)),
        _ => (name, None),
    };
    let first_ok = base
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let rest_ok = base
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.'));
    if base.len() < 2 || base.len() > 128 || !first_ok || !rest_ok {
        return Err(format!(
            "{name:?} is not a Debian package name (lower-case letters, digits, `+`, `-` and `.`, starting with a letter or digit)"
        ));
    }
    if let Some(q) = qualifier
        && (q.is_empty()
            || !q
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
    {
        return Err(format!("{name:?} has a bad architecture qualifier"));
    }
    Ok(())
}

/// A version: `[epoch:]upstream[-revision]`; the epoch is digits, the
/// upstream version starts with a digit.
pub fn check_version(version: &str) -> Result<(), String> {
    let bad = || Err(format!("{version:?} is not a Debian version"));
    let (epoch, rest) = match version.split_once(':') {
        Some((e, r)) => (Some(e), r),
        None => (None, version),
    };
    if epoch.is_some_and(|e| e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit())) {
        return bad();
    }
    let (upstream, revision) = match rest.rsplit_once('-') {
        Some((u, r)) => (u, Some(r)),
        None => (rest, None),
    };
    let allowed = |b: u8, extra: &[u8]| {
        b.is_ascii_alphanumeric() || b"+.~".contains(&b) || extra.contains(&b)
    };
    let upstream_ok = upstream.bytes().next().is_some_and(|b| b.is_ascii_digit())
        && upstream
            .bytes()
            .all(|b| allowed(b, if revision.is_some() { b"-" } else { b"" }));
    let revision_ok = revision.is_none_or(|r| !r.is_empty() && r.bytes().all(|b| allowed(b, b"")));
    if version.len() > 256 || !upstream_ok || !revision_ok {
        return bad();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_names_and_versions_pass() {
        for n in [
            "libc6",
            "g++-12",
            "libstdc++6",
            "python3.11",
            "0ad",
            "busybox-static",
        ] {
            assert!(check_name(n, false).is_ok(), "{n}");
        }
        assert!(check_name("dhcpcd:any", true).is_ok());
        for v in [
            "3:6.04~git20190206.bf6db5b4+dfsg1-3",
            "1.36.1-9",
            "2.36-9+deb12u10",
            "6.1.192-2",
            "1:2.38.1-5+deb12u3",
            "20230311",
        ] {
            assert!(check_version(v).is_ok(), "{v}");
        }
    }

    #[test]
    fn names_and_versions_outside_the_grammar_are_refused() {
        for n in [
            "",
            "a",
            "Libc6",
            "-x",
            "../../etc",
            "a/b",
            "a b",
            "x\0y",
            "dhcpcd:any",
        ] {
            assert!(check_name(n, false).is_err(), "{n:?}");
        }
        assert!(check_name("x:A/b", true).is_err());
        for v in [
            "", "a1.0", "1:", ":1", "x:1", "1.0-", "1.0/../x", "1 0", "1.0-a_b",
        ] {
            assert!(check_version(v).is_err(), "{v:?}");
        }
    }
}
