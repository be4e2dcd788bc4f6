//! Sizes as people write them on a command line or in a config: `512M`,
//! `4G`, `1T`, `65536K` (binary units, an optional `B` or `iB`); a plain
//! number is GiB, as LinuxKit reads disk sizes. Shared by `cairn run
//! --disk`, `cairn build --disk-size` and the config's `data.size`.

const MIB: u64 = 1 << 20;

/// Bytes, rounded up to whole MiB; `None` for text that is not a size or
/// is zero.
pub fn parse_size(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => text.split_at(at),
        None => (text, "G"),
    };
    let n: u64 = digits.parse().ok()?;
    let shift = match unit.to_ascii_uppercase().trim_end_matches(['B', 'I']) {
        "K" => 10,
        "M" => 20,
        "G" => 30,
        "T" => 40,
        _ => return None,
    };
    let bytes = n.checked_mul(1 << shift)?;
    (bytes > 0).then(|| bytes.div_ceil(MIB) * MIB)
}

/// The error text for a size that did not parse.
pub const SIZE_HELP: &str = "a size is a number with K, M, G or T (binary units), e.g. 512M or 4G";

#[cfg(test)]
#[test]
fn sizes_take_binary_units_and_a_plain_number_is_gib() {
    assert_eq!(parse_size("4G"), Some(4 << 30));
    assert_eq!(parse_size("64MiB"), Some(64 << 20));
    assert_eq!(parse_size("100"), Some(100 << 30));
    assert_eq!(parse_size("1536K"), Some(2 << 20));
    assert_eq!(parse_size("0"), None);
    assert_eq!(parse_size("12Q"), None);
    assert_eq!(parse_size("99999999999T"), None);
}
