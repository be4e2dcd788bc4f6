//! The one place cairn reads YAML as LinuxKit's Go parser does rather than
//! as the YAML spec says: a `#` line at column 0 inside a block scalar.
//! By the spec it ends the scalar (and the lines after it are then an
//! error); Go's yaml.v3 skips it as a comment, and LinuxKit's own
//! `examples/static-ip.yml` relies on that. Such lines are taken out before
//! parsing, each with a warning, and positions are mapped back so every
//! diagnostic still names the line in the file.

use super::node::{Kind, Node};

/// The text without the column-0 comment lines found inside block scalars,
/// and the (1-based) numbers of the lines taken out, in order.
pub fn drop_block_scalar_comments(text: &str) -> (String, Vec<usize>) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let mut dropped = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(parent) = block_scalar_start(lines[i]) else {
            i += 1;
            continue;
        };
        // The scalar's lines: blank, more indented than its key, or (the
        // case in question) column-0 comments followed by more of them.
        let mut j = i + 1;
        while j < lines.len() {
            let line = lines[j];
            if is_blank(line) || indent(line) > parent {
                j += 1;
                continue;
            }
            if line.starts_with('#') {
                let next = lines[j + 1..]
                    .iter()
                    .find(|l| !is_blank(l) && !l.starts_with('#'));
                if next.is_some_and(|l| indent(l) > parent) {
                    dropped.push(j + 1);
                    j += 1;
                    continue;
                }
            }
            break;
        }
        i = j;
    }
    if dropped.is_empty() {
        return (text.to_string(), dropped);
    }
    let kept = lines
        .iter()
        .enumerate()
        .filter(|(n, _)| !dropped.contains(&(n + 1)))
        .map(|(_, l)| *l)
        .collect();
    (kept, dropped)
}

/// The line in the original file of line `line` of the text without the
/// `dropped` lines.
pub fn original_line(line: usize, dropped: &[usize]) -> usize {
    let mut original = line;
    for &d in dropped {
        if d <= original {
            original += 1;
        }
    }
    original
}

/// Moves every position in the tree back to the original file's lines.
pub fn remap(node: &mut Node, dropped: &[usize]) {
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        n.pos.line = original_line(n.pos.line, dropped);
        match &mut n.kind {
            Kind::Seq(items) => todo.extend(items.iter_mut()),
            Kind::Map(entries) => {
                for (k, v) in entries.iter_mut() {
                    k.pos.line = original_line(k.pos.line, dropped);
                    todo.push(v);
                }
            }
            _ => {}
        }
    }
}

/// For a line that opens a block scalar (`key: |`, `- >-`, `key: |2`), the
/// indentation its content must exceed: that of the key or the dash.
fn block_scalar_start(line: &str) -> Option<usize> {
    let body = line.trim_end();
    let body = match body.find(" #") {
        Some(at) => body[..at].trim_end(),
        None => body,
    };
    let (head, indicator) = body.rsplit_once([' ', '\t']).unwrap_or(("", body));
    let mut chars = indicator.chars();
    if !matches!(chars.next(), Some('|' | '>'))
        || !chars.all(|c| matches!(c, '+' | '-' | '1'..='9'))
    {
        return None;
    }
    let head = head.trim_end();
    if !(head.ends_with(':') || head.ends_with('-')) || head.trim_start().starts_with('#') {
        return None;
    }
    Some(indent(line))
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

#[cfg(test)]
mod tests {
    use super::{drop_block_scalar_comments, original_line};

    const STATIC_IP: &str = "files:\n  - path: etc/resolv.conf\n    contents: |\n#      domain test.local\n      nameserver 10.10.1.101\n      nameserver 10.10.1.100\n  - path: x\n";

    #[test]
    fn a_column_0_comment_inside_a_block_scalar_is_taken_out() {
        let (text, dropped) = drop_block_scalar_comments(STATIC_IP);
        assert_eq!(dropped, [4]);
        assert!(!text.contains("domain test.local"), "{text}");
        assert!(text.contains("      nameserver 10.10.1.101\n"), "{text}");
        assert_eq!(original_line(4, &dropped), 5);
        assert_eq!(original_line(3, &dropped), 3);
    }

    #[test]
    fn comments_between_entries_and_after_a_scalar_stay() {
        let text = "a: |\n  one\n# about b\nb: 2\n# end\n";
        let (out, dropped) = drop_block_scalar_comments(text);
        assert!(dropped.is_empty());
        assert_eq!(out, text);
    }

    #[test]
    fn a_comment_that_is_part_of_the_scalar_is_left_alone() {
        let text = "a: |\n  # kept: this is content\n  two\n";
        assert!(drop_block_scalar_comments(text).1.is_empty());
    }
}
