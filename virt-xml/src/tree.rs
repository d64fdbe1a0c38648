//! A positioned XML tree: the parsed input that typed parsers walk.
//!
//! Comments and processing instructions are dropped; text is kept (with whitespace) so mixed content
//! such as `<metadata>` can be written back. Namespace prefixes are kept as written in names.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use crate::error::{Pos, XmlError};

/// An attribute and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    pub name: String,
    pub value: String,
    pub pos: Pos,
}

/// A child of an element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Element(Element),
    /// Unescaped text (CDATA included).
    Text(String),
}

/// An element with its attributes (in document order), children and position.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element {
    pub name: String,
    pub attrs: Vec<Attr>,
    pub children: Vec<Node>,
    pub pos: Pos,
}

impl Element {
    /// The attribute's value, if present.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// The attribute itself, if present.
    pub fn attr_node(&self, name: &str) -> Option<&Attr> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Child elements in order.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.elements().find(|e| e.name == name)
    }

    /// All child elements with this name.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.name == name)
    }

    /// The concatenated text content of this element's direct text children.
    pub fn text(&self) -> String {
        self.children
            .iter()
            .filter_map(|n| match n {
                Node::Text(t) => Some(t.as_str()),
                Node::Element(_) => None,
            })
            .collect()
    }

    /// Whether any direct text child is more than whitespace.
    pub fn has_text(&self) -> bool {
        self.children
            .iter()
            .any(|n| matches!(n, Node::Text(t) if !t.trim().is_empty()))
    }
}

/// Maps byte offsets to line:column.
struct Lines {
    starts: Vec<usize>,
}

impl Lines {
    fn new(input: &[u8]) -> Self {
        let mut starts = vec![0];
        starts.extend(
            input
                .iter()
                .enumerate()
                .filter(|(_, &b)| b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Self { starts }
    }

    fn pos(&self, input: &[u8], offset: usize) -> Pos {
        let offset = offset.min(input.len());
        let line = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = self.starts[line];
        let col = String::from_utf8_lossy(&input[start..offset])
            .chars()
            .count();
        Pos {
            line: line as u32 + 1,
            col: col as u32 + 1,
        }
    }
}

/// The deepest element nesting accepted (libxml2's default limit).
pub const MAX_DEPTH: usize = 256;

/// Parses a whole document and returns its root element.
pub fn parse(input: &str) -> Result<Element, XmlError> {
    let bytes = input.as_bytes();
    let lines = Lines::new(bytes);
    let mut reader = Reader::from_str(input);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let syntax = |pos: Pos, message: String| XmlError::Syntax { pos, message };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| {
            syntax(
                lines.pos(bytes, reader.error_position() as usize),
                e.to_string(),
            )
        })?;
        // The element starts at the '<' after any leading whitespace of the event.
        let start = before
            + bytes[before.min(bytes.len())..]
                .iter()
                .position(|&b| b == b'<')
                .unwrap_or(0);
        match event {
            Event::Start(s) => {
                let el = start_element(&s, input, &lines, start)?;
                if stack.len() >= MAX_DEPTH {
                    return Err(syntax(
                        el.pos,
                        format!("elements nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                stack.push(el);
            }
            Event::Empty(s) => {
                let el = start_element(&s, input, &lines, start)?;
                attach(&mut stack, &mut root, el, lines.pos(bytes, start))?;
            }
            Event::End(_) => {
                let el = stack
                    .pop()
                    .ok_or_else(|| syntax(lines.pos(bytes, start), "unexpected end tag".into()))?;
                attach(&mut stack, &mut root, el, lines.pos(bytes, start))?;
            }
            Event::Text(t) => {
                let text = t
                    .unescape()
                    .map_err(|e| syntax(lines.pos(bytes, before), e.to_string()))?
                    .into_owned();
                match stack.last_mut() {
                    Some(parent) => parent.children.push(Node::Text(text)),
                    None if text.trim().is_empty() => {}
                    None => {
                        return Err(syntax(
                            lines.pos(bytes, before),
                            "text outside the root element".into(),
                        ))
                    }
                }
            }
            Event::CData(c) => {
                let text = String::from_utf8_lossy(&c.into_inner()).into_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node::Text(text));
                }
            }
            Event::Eof => break,
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some(open) = stack.last() {
        return Err(syntax(
            lines.pos(bytes, bytes.len()),
            format!(
                "element <{}> opened at {} is not closed",
                open.name, open.pos
            ),
        ));
    }
    root.ok_or_else(|| syntax(lines.pos(bytes, bytes.len()), "no root element".into()))
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    el: Element,
    pos: Pos,
) -> Result<(), XmlError> {
    match stack.last_mut() {
        Some(parent) => {
            parent.children.push(Node::Element(el));
            Ok(())
        }
        None if root.is_none() => {
            *root = Some(el);
            Ok(())
        }
        None => Err(XmlError::Syntax {
            pos,
            message: format!("a second root element <{}>", el.name),
        }),
    }
}

fn start_element(
    s: &BytesStart<'_>,
    input: &str,
    lines: &Lines,
    start: usize,
) -> Result<Element, XmlError> {
    let bytes = input.as_bytes();
    let pos = lines.pos(bytes, start);
    let name = String::from_utf8_lossy(s.name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    // Attribute positions: search the raw tag text for each attribute name in turn.
    let tag_end = bytes[start..]
        .iter()
        .position(|&b| b == b'>')
        .map(|i| start + i)
        .unwrap_or(bytes.len());
    let mut cursor = start + 1 + name.len();
    for a in s.attributes().with_checks(true) {
        let a = a.map_err(|e| XmlError::Syntax {
            pos,
            message: format!("in <{name}>: {e}"),
        })?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .unescape_value()
            .map_err(|e| XmlError::Syntax {
                pos,
                message: format!("in <{name}> attribute '{key}': {e}"),
            })?
            .into_owned();
        let at = find(bytes, key.as_bytes(), cursor, tag_end).unwrap_or(cursor);
        cursor = at + key.len();
        attrs.push(Attr {
            name: key,
            value,
            pos: lines.pos(bytes, at),
        });
    }
    Ok(Element {
        name,
        attrs,
        children: Vec::new(),
        pos,
    })
}

fn find(hay: &[u8], needle: &[u8], from: usize, to: usize) -> Option<usize> {
    if from >= to || needle.is_empty() {
        return None;
    }
    hay[from..to]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| from + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_of_elements_and_attributes() {
        let doc = "<domain type='kvm'>\n  <name>g1</name>\n  <uuid x='1'  y=\"2\"/>\n</domain>\n";
        let root = parse(doc).expect("parse");
        assert_eq!(root.name, "domain");
        assert_eq!(root.pos, Pos { line: 1, col: 1 });
        assert_eq!(
            root.attr_node("type").map(|a| a.pos),
            Some(Pos { line: 1, col: 9 })
        );
        let name = root.child("name").expect("name");
        assert_eq!(name.pos, Pos { line: 2, col: 3 });
        assert_eq!(name.text(), "g1");
        let uuid = root.child("uuid").expect("uuid");
        assert_eq!(
            uuid.attr_node("y").map(|a| a.pos),
            Some(Pos { line: 3, col: 16 })
        );
    }

    #[test]
    fn malformed_is_an_error_with_position() {
        let err = parse("<domain>\n  <name>g1</nam>\n</domain>").expect_err("mismatch");
        assert!(matches!(err, XmlError::Syntax { .. }), "{err}");
        assert_eq!(err.pos().line, 2, "{err}");
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a x='1' x='2'/>").is_err());
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(&deep).is_err());
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(&ok).is_ok());
    }
}
