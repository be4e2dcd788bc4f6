//! Debian version numbers: `[epoch:]upstream[-revision]`, compared the way
//! dpkg compares them (Debian Policy 5.6.12).

use std::cmp::Ordering;

/// Compares two version strings as dpkg does.
pub fn compare(a: &str, b: &str) -> Ordering {
    let (ea, ua, ra) = split(a);
    let (eb, ub, rb) = split(b);
    compare_digits(ea, eb)
        .then_with(|| compare_part(ua, ub))
        .then_with(|| compare_part(ra, rb))
}

/// Epoch (digits, "0" when absent), upstream version, revision ("" when absent).
fn split(v: &str) -> (&str, &str, &str) {
    let (epoch, rest) = match v.split_once(':') {
        Some((e, rest)) if !e.is_empty() && e.bytes().all(|c| c.is_ascii_digit()) => (e, rest),
        _ => ("0", v),
    };
    match rest.rsplit_once('-') {
        Some((upstream, revision)) => (epoch, upstream, revision),
        None => (epoch, rest, ""),
    }
}

/// Alternating non-digit and digit runs, compared run by run.
fn compare_part(mut a: &str, mut b: &str) -> Ordering {
    while !a.is_empty() || !b.is_empty() {
        let (na, ra) = take_while(a, |c| !c.is_ascii_digit());
        let (nb, rb) = take_while(b, |c| !c.is_ascii_digit());
        let ord = compare_text(na, nb);
        if ord != Ordering::Equal {
            return ord;
        }
        let (da, ra) = take_while(ra, |c| c.is_ascii_digit());
        let (db, rb) = take_while(rb, |c| c.is_ascii_digit());
        let ord = compare_digits(da, db);
        if ord != Ordering::Equal {
            return ord;
        }
        a = ra;
        b = rb;
    }
    Ordering::Equal
}

fn take_while(s: &str, f: impl Fn(u8) -> bool) -> (&str, &str) {
    let end = s.bytes().position(|c| !f(c)).unwrap_or(s.len());
    s.split_at(end)
}

/// `~` sorts before everything, even the end of the string; letters sort
/// before all other characters.
fn weight(c: Option<u8>) -> i32 {
    match c {
        Some(b'~') => -1,
        None => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(c) => i32::from(c) + 256,
    }
}

fn compare_text(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    for i in 0..a.len().max(b.len()) {
        let ord = weight(a.get(i).copied()).cmp(&weight(b.get(i).copied()));
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Numeric comparison of digit runs of any length ("" counts as 0).
fn compare_digits(a: &str, b: &str) -> Ordering {
    let a = a.trim_start_matches('0');
    let b = b.trim_start_matches('0');
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

/// A relation in a dependency: `(>= 1.2)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
}

impl Op {
    /// Parses `<<`, `<=`, `=`, `>=`, `>>` and the obsolete `<` (meaning `<=`)
    /// and `>` (meaning `>=`).
    pub fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "<<" => Op::Lt,
            "<=" | "<" => Op::Le,
            "=" => Op::Eq,
            ">=" | ">" => Op::Ge,
            ">>" => Op::Gt,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "<<",
            Op::Le => "<=",
            Op::Eq => "=",
            Op::Ge => ">=",
            Op::Gt => ">>",
        }
    }

    /// Whether `version` stands in this relation to `wanted`.
    pub fn holds(self, version: &str, wanted: &str) -> bool {
        let ord = compare(version, wanted);
        match self {
            Op::Lt => ord == Ordering::Less,
            Op::Le => ord != Ordering::Greater,
            Op::Eq => ord == Ordering::Equal,
            Op::Ge => ord != Ordering::Less,
            Op::Gt => ord == Ordering::Greater,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Op, compare};
    use std::cmp::Ordering::{Equal, Greater, Less};

    #[test]
    fn versions_compare_as_dpkg_compares_them() {
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.1", Less),
            ("1.10", "1.9", Greater),
            ("1.0~rc1", "1.0", Less),
            ("1.0~~", "1.0~", Less),
            ("1.0~", "1.0", Less),
            ("1.0", "1.0a", Less),
            ("1.0a", "1.0+", Less),
            ("1.0.1", "1.0a", Greater),
            ("1:0.1", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0-1", "1.0", Greater),
            ("2.36-9+deb12u10", "2.36-9+deb12u4", Greater),
            ("2.36-9+deb12u4", "2.36-9", Greater),
            ("1.0-1~bpo12+1", "1.0-1", Less),
            ("001", "1", Equal),
            ("1.2-3-4", "1.2-3", Greater),
            ("10:1", "9:2", Greater),
            (
                "123456789012345678901234567890",
                "123456789012345678901234567891",
                Less,
            ),
            ("a", "b", Less),
            ("1.0+dfsg", "1.0", Greater),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare(a, b), want, "{a} vs {b}");
            assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn relations_hold_only_where_they_should() {
        assert!(Op::Ge.holds("2.36-9", "2.34"));
        assert!(!Op::Lt.holds("1.0", "1.0"));
        assert!(Op::Le.holds("1.0", "1.0"));
        assert!(Op::Gt.holds("1.0-1", "1.0"));
        assert!(Op::Eq.holds("0:1.0", "1.0"));
        assert_eq!(Op::parse(">"), Some(Op::Ge));
        assert_eq!(Op::parse("<"), Some(Op::Le));
        assert_eq!(Op::parse("=>"), None);
    }
}
