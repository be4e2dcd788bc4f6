//! Builds a [`Node`] tree from saphyr-parser's event stream, with hard limits
//! so that hostile input fails fast and in bounded memory: nesting depth is
//! checked on an explicit stack (no recursion), and every node created,
//! including each copy made when an alias is expanded, counts against a budget.

use std::collections::{HashMap, HashSet};

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::diag::Pos;
use super::node::{Key, Kind, Node, resolve_plain};

/// Largest config file read, in bytes.
pub const MAX_FILE_SIZE: u64 = 4 * 1024 * 1024;
/// Deepest nesting of lists and mappings.
pub const MAX_DEPTH: usize = 64;
/// Most nodes in one file after aliases are expanded. A scalar counts as one
/// node per [`SCALAR_BYTES_PER_NODE`] bytes, so that aliases of one long
/// string cannot multiply memory either.
pub const MAX_NODES: usize = 200_000;
/// Bytes of scalar text that cost as much as one node.
pub const SCALAR_BYTES_PER_NODE: usize = 64;

/// Why the text is not a usable YAML document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YamlError {
    pub pos: Pos,
    pub message: String,
}

fn err<T>(pos: Pos, message: impl Into<String>) -> Result<T, YamlError> {
    Err(YamlError {
        pos,
        message: message.into(),
    })
}

fn pos_of(span: &Span) -> Pos {
    Pos {
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

/// Where an expanded anchor came from, and what copying it costs.
struct Anchored {
    node: Node,
    size: usize,
    height: usize,
}

enum Frame {
    Seq {
        pos: Pos,
        anchor: usize,
        items: Vec<Node>,
        size: usize,
        height: usize,
    },
    Map {
        pos: Pos,
        anchor: usize,
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        size: usize,
        height: usize,
    },
}

struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Anchored>,
    nodes: usize,
    /// Whether an alias has been expanded, for the wording of the size error.
    expanded: bool,
    root: Option<Node>,
}

/// The tab in the indentation of the line the parser stopped at, or of
/// one of the next two: the parser notices a tab only where it breaks a
/// token, often at the end of the line before.
fn indenting_tab(text: &str, line: usize) -> Option<Pos> {
    text.lines()
        .enumerate()
        .skip(line.saturating_sub(1))
        .take(3)
        .find_map(|(n, l)| {
            let lead = &l[..l.len() - l.trim_start_matches([' ', '\t']).len()];
            lead.find('\t').map(|col| Pos {
                line: n + 1,
                col: col + 1,
            })
        })
}

/// Parses one YAML document into a node tree.
pub fn parse(text: &str) -> Result<Node, YamlError> {
    let mut b = Builder {
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        expanded: false,
        root: None,
    };
    let mut documents = 0;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let at = Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            };
            match e
                .info()
                .contains("tab")
                .then(|| indenting_tab(text, at.line))
            {
                Some(Some(pos)) => YamlError {
                    pos,
                    message: "a tab in the indentation; YAML indents with spaces only".into(),
                },
                _ => YamlError {
                    pos: at,
                    message: format!("malformed YAML: {}", e.info()),
                },
            }
        })?;
        let pos = pos_of(&span);
        match event {
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return err(
                        pos,
                        "a second YAML document starts here; put one document in each file",
                    );
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let cost = 1 + value.len() / SCALAR_BYTES_PER_NODE;
                let kind = scalar_kind(&value, style, tag.as_deref(), pos)?;
                b.count(cost, pos)?;
                b.finish(Node { pos, kind }, anchor, cost, 1)?;
            }
            Event::Alias(id) => b.alias(id, pos)?,
            Event::SequenceStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), pos)?;
                b.open(
                    Frame::Seq {
                        pos,
                        anchor,
                        items: Vec::new(),
                        size: 1,
                        height: 1,
                    },
                    pos,
                )?;
            }
            Event::MappingStart(anchor, tag) => {
                check_collection_tag(tag.as_deref(), pos)?;
                b.open(
                    Frame::Map {
                        pos,
                        anchor,
                        entries: Vec::new(),
                        key: None,
                        size: 1,
                        height: 1,
                    },
                    pos,
                )?;
            }
            Event::SequenceEnd | Event::MappingEnd => b.close()?,
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
    }
    match b.root {
        None
        | Some(Node {
            kind: Kind::Null, ..
        }) => err(
            Pos::START,
            "the file is empty; a config needs at least one section such as `kernel:` or `services:`",
        ),
        Some(root) => Ok(root),
    }
}

fn tag_name(tag: &Tag) -> String {
    format!("{}{}", tag.handle, tag.suffix)
}

fn scalar_kind(
    value: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    pos: Pos,
) -> Result<Kind, YamlError> {
    if let Some(tag) = tag {
        if !tag.is_yaml_core_schema() {
            return err(pos, format!("unsupported YAML tag `{}`", tag_name(tag)));
        }
        if tag.suffix == "str" {
            return Ok(Kind::Str(value.to_string()));
        }
    }
    Ok(match style {
        ScalarStyle::Plain => resolve_plain(value),
        _ => Kind::Str(value.to_string()),
    })
}

fn check_collection_tag(tag: Option<&Tag>, pos: Pos) -> Result<(), YamlError> {
    match tag {
        Some(t) if !t.is_yaml_core_schema() => {
            err(pos, format!("unsupported YAML tag `{}`", tag_name(t)))
        }
        _ => Ok(()),
    }
}

impl Builder {
    fn count(&mut self, n: usize, pos: Pos) -> Result<(), YamlError> {
        self.nodes = self.nodes.saturating_add(n);
        if self.nodes > MAX_NODES {
            let why = if self.expanded {
                "counting every alias expansion; this looks like an alias bomb"
            } else {
                "split it into several files"
            };
            return err(
                pos,
                format!("the document is too large: more than {MAX_NODES} nodes ({why})"),
            );
        }
        Ok(())
    }

    fn open(&mut self, frame: Frame, pos: Pos) -> Result<(), YamlError> {
        if self.stack.len() >= MAX_DEPTH {
            return err(
                pos,
                format!("lists and mappings nest deeper than {MAX_DEPTH} levels"),
            );
        }
        self.count(1, pos)?;
        self.stack.push(frame);
        Ok(())
    }

    fn alias(&mut self, id: usize, pos: Pos) -> Result<(), YamlError> {
        let Some(anchored) = self.anchors.get(&id) else {
            return err(pos, "alias refers to an unknown anchor");
        };
        let (size, height) = (anchored.size, anchored.height);
        if self.stack.len() + height > MAX_DEPTH {
            return err(
                pos,
                format!("expanding this alias nests deeper than {MAX_DEPTH} levels"),
            );
        }
        // Charge the budget before copying, so a bomb never gets allocated.
        self.expanded = true;
        self.count(size, pos)?;
        let Some(anchored) = self.anchors.get(&id) else {
            return err(pos, "alias refers to an unknown anchor");
        };
        let mut node = anchored.node.clone();
        node.pos = pos;
        self.finish(node, 0, size, height)
    }

    fn close(&mut self) -> Result<(), YamlError> {
        let Some(frame) = self.stack.pop() else {
            return Ok(());
        };
        match frame {
            Frame::Seq {
                pos,
                anchor,
                items,
                size,
                height,
            } => self.finish(
                Node {
                    pos,
                    kind: Kind::Seq(items),
                },
                anchor,
                size,
                height,
            ),
            Frame::Map {
                pos,
                anchor,
                entries,
                size,
                height,
                ..
            } => {
                let kind = Kind::Map(build_map(entries)?);
                self.finish(Node { pos, kind }, anchor, size, height)
            }
        }
    }

    /// Hands a complete node to its parent (or makes it the root).
    fn finish(
        &mut self,
        node: Node,
        anchor: usize,
        size: usize,
        height: usize,
    ) -> Result<(), YamlError> {
        if anchor > 0 {
            self.anchors.insert(
                anchor,
                Anchored {
                    node: node.clone(),
                    size,
                    height,
                },
            );
        }
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq {
                items,
                size: s,
                height: h,
                ..
            }) => {
                *s += size;
                *h = (*h).max(height + 1);
                items.push(node);
            }
            Some(Frame::Map {
                entries,
                key,
                size: s,
                height: h,
                ..
            }) => {
                *s += size;
                *h = (*h).max(height + 1);
                match key.take() {
                    None => *key = Some(node),
                    Some(k) => entries.push((k, node)),
                }
            }
        }
        Ok(())
    }
}

fn key_of(node: Node) -> Result<Key, YamlError> {
    let text = match node.kind {
        Kind::Str(s) => s,
        Kind::Null => String::new(),
        ref k => match k.plain_text() {
            Some(t) => t,
            None => {
                return err(
                    node.pos,
                    "mapping keys must be plain strings, not lists or mappings",
                );
            }
        },
    };
    Ok(Key {
        text,
        pos: node.pos,
    })
}

fn is_merge_key(node: &Node) -> bool {
    matches!(&node.kind, Kind::Str(s) if s == "<<")
}

/// Turns raw entries into a mapping: duplicate keys are errors, `<<` merge
/// keys fill in whatever the mapping does not set itself (earlier sources win).
fn build_map(raw: Vec<(Node, Node)>) -> Result<Vec<(Key, Node)>, YamlError> {
    let mut entries: Vec<(Key, Node)> = Vec::with_capacity(raw.len());
    // Indexes keep hostile mappings with many keys linear.
    let mut seen: HashMap<String, Pos> = HashMap::new();
    let mut merged: Vec<(Key, Node)> = Vec::new();
    let mut merged_seen: HashSet<String> = HashSet::new();
    for (k, v) in raw {
        if is_merge_key(&k) {
            let sources = match v.kind {
                Kind::Map(m) => vec![m],
                Kind::Seq(items) => {
                    let mut maps = Vec::new();
                    for item in items {
                        match item.kind {
                            Kind::Map(m) => maps.push(m),
                            _ => return err(item.pos, "a `<<` merge list may only hold mappings"),
                        }
                    }
                    maps
                }
                _ => {
                    return err(
                        v.pos,
                        "a `<<` merge key needs a mapping or a list of mappings",
                    );
                }
            };
            for (mk, mv) in sources.into_iter().flatten() {
                if merged_seen.insert(mk.text.clone()) {
                    merged.push((mk, mv));
                }
            }
            continue;
        }
        let key = key_of(k)?;
        if let Some(first) = seen.get(&key.text) {
            return err(
                key.pos,
                format!(
                    "duplicate key `{}` (first set at line {}:{})",
                    key.text, first.line, first.col
                ),
            );
        }
        seen.insert(key.text.clone(), key.pos);
        entries.push((key, v));
    }
    for (mk, mv) in merged {
        if !seen.contains_key(&mk.text) {
            entries.push((mk, mv));
        }
    }
    Ok(entries)
}

/// Turns raw bytes into text, pointing at the first byte that is not UTF-8.
pub fn decode(bytes: &[u8]) -> Result<&str, YamlError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let good = &bytes[..e.valid_up_to()];
        let line = good.iter().filter(|b| **b == b'\n').count() + 1;
        let line_start = good.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
        let col = String::from_utf8_lossy(&good[line_start..]).chars().count() + 1;
        YamlError {
            pos: Pos { line, col },
            message: "the file is not UTF-8 text; save it as UTF-8".into(),
        }
    })
}
