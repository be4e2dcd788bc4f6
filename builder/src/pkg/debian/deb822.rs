//! Debian's control-file syntax (deb822): paragraphs of `Field: value`
//! separated by blank lines, with indented continuation lines. Used by
//! InRelease, Packages and apt's `.sources` files.

/// One paragraph; values borrow from the parsed text.
#[derive(Debug, Clone, Default)]
pub struct Paragraph<'a> {
    fields: Vec<(&'a str, &'a str)>,
    /// 1-based line of the paragraph's first field, for messages.
    pub line: usize,
}

impl<'a> Paragraph<'a> {
    /// The value of a field (names are case-insensitive), trimmed, with
    /// continuation lines included as they are.
    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    /// The continuation lines of a multi-line field such as `SHA256`,
    /// trimmed; the (usually empty) first line is skipped.
    pub fn lines(&self, name: &str) -> impl Iterator<Item = &'a str> + use<'a> {
        let value = self
            .fields
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
            .unwrap_or("");
        value
            .lines()
            .skip(1)
            .map(str::trim)
            .filter(|l| !l.is_empty())
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }
}

/// Splits `text` into paragraphs. Lines starting with `#` are comments (as in
/// apt's files). A line that is neither a field, a continuation nor blank is
/// an error naming its line number.
pub fn parse(text: &str) -> Result<Vec<Paragraph<'_>>, String> {
    let mut out = Vec::new();
    let mut current = Paragraph::default();
    // The open field: its name, where its value starts and ends in `text`.
    let mut open: Option<(&str, usize, usize)> = None;
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let line = raw.trim_end_matches(['\n', '\r']);
        if line.trim().is_empty() {
            close(&mut open, &mut current, text);
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with('#') {
            continue;
        }
        if line.starts_with([' ', '\t']) {
            match &mut open {
                Some((_, _, end)) => *end = start + line.len(),
                None => {
                    return Err(format!(
                        "line {}: continuation line without a field",
                        index + 1
                    ));
                }
            }
            continue;
        }
        close(&mut open, &mut current, text);
        let Some(colon) = line.find(':') else {
            return Err(format!("line {}: expected `Field: value`", index + 1));
        };
        if current.is_empty() {
            current.line = index + 1;
        }
        open = Some((&line[..colon], start + colon + 1, start + line.len()));
    }
    close(&mut open, &mut current, text);
    if !current.is_empty() {
        out.push(current);
    }
    Ok(out)
}

fn close<'a>(open: &mut Option<(&'a str, usize, usize)>, para: &mut Paragraph<'a>, text: &'a str) {
    if let Some((name, start, end)) = open.take() {
        para.fields.push((name.trim(), &text[start..end]));
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn paragraphs_fields_and_continuations_are_split() {
        let text =
            "Package: a\nDepends: b,\n c\n\n\n# comment\nPackage: d\r\nSHA256:\n x 1 f\n y 2 g\n";
        let paras = parse(text).expect("parse");
        assert_eq!(paras.len(), 2);
        assert_eq!(paras[0].get("package"), Some("a"));
        assert_eq!(paras[0].get("Depends"), Some("b,\n c"));
        assert_eq!(paras[1].get("Package"), Some("d"));
        assert_eq!(paras[1].line, 7);
        let lines: Vec<&str> = paras[1].lines("sha256").collect();
        assert_eq!(lines, ["x 1 f", "y 2 g"]);
        assert_eq!(paras[0].get("Missing"), None);
    }

    #[test]
    fn a_line_without_a_colon_is_an_error_with_its_number() {
        let err = parse("Package: a\nnonsense\n").expect_err("bad line");
        assert!(err.starts_with("line 2"), "{err}");
    }
}
