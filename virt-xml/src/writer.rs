//! libvirt's canonical XML writer: 2-space indentation, single-quoted attributes, self-closing empty
//! elements, and libvirt's escaping (`<`, `>`, `&`, `'`, `"` as entities).
//!
//! ```
//! use virt_xml::writer::{Tag, Writer};
//! let mut w = Writer::new();
//! w.element(Tag::new("rule").attr("action", "drop"), |w| {
//!     w.empty(Tag::new("mac").attr("protocolid", "arp"));
//! });
//! w.element(Tag::new("empty"), |_| {});
//! assert_eq!(w.finish(), "<rule action='drop'>\n  <mac protocolid='arp'/>\n</rule>\n<empty/>\n");
//! ```

use std::fmt::Write as _;

use crate::tree::{Element, Node};

/// Escapes text or an attribute value as libvirt does.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

fn escape_into(out: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
}

/// A start tag: a name and its attributes, in the order they are written.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tag {
    pub name: String,
    pub attrs: Vec<(String, String)>,
}

impl Tag {
    pub fn new(name: impl Into<String>) -> Self {
        Tag {
            name: name.into(),
            attrs: Vec::new(),
        }
    }

    /// Adds an attribute.
    pub fn attr(mut self, name: impl Into<String>, value: impl ToString) -> Self {
        self.attrs.push((name.into(), value.to_string()));
        self
    }

    /// Adds an attribute when the value is present.
    pub fn opt_attr<T: ToString>(mut self, name: impl Into<String>, value: Option<T>) -> Self {
        if let Some(v) = value {
            self.attrs.push((name.into(), v.to_string()));
        }
        self
    }

    /// Adds an attribute in place.
    pub fn push(&mut self, name: impl Into<String>, value: impl ToString) {
        self.attrs.push((name.into(), value.to_string()));
    }
}

/// Writes indented XML into a string.
#[derive(Debug, Clone, Default)]
pub struct Writer {
    out: String,
    depth: usize,
}

impl Writer {
    pub fn new() -> Self {
        Self::default()
    }

    /// A writer whose first level is already indented `depth` steps (for nesting output).
    pub fn with_depth(depth: usize) -> Self {
        Writer {
            out: String::new(),
            depth,
        }
    }

    /// Current indentation depth.
    pub fn depth(&self) -> usize {
        self.depth
    }

    fn indent(&mut self) {
        for _ in 0..self.depth {
            self.out.push_str("  ");
        }
    }

    fn start_tag(&mut self, tag: &Tag, quote: char) {
        self.indent();
        self.out.push('<');
        self.out.push_str(&tag.name);
        for (k, v) in &tag.attrs {
            let _ = write!(self.out, " {k}={quote}");
            escape_into(&mut self.out, v);
            self.out.push(quote);
        }
    }

    /// `<name attrs/>`
    pub fn empty(&mut self, tag: Tag) {
        self.start_tag(&tag, '\'');
        self.out.push_str("/>\n");
    }

    /// `<name attrs>text</name>` (escaped text).
    pub fn leaf(&mut self, tag: Tag, text: &str) {
        self.start_tag(&tag, '\'');
        self.out.push('>');
        escape_into(&mut self.out, text);
        let _ = writeln!(self.out, "</{}>", tag.name);
    }

    /// An element whose children `body` writes; self-closing when `body` writes nothing.
    pub fn element(&mut self, tag: Tag, body: impl FnOnce(&mut Writer)) {
        let mark = self.out.len();
        self.start_tag(&tag, '\'');
        self.out.push_str(">\n");
        let inner = self.out.len();
        self.depth += 1;
        body(self);
        self.depth -= 1;
        if self.out.len() == inner {
            self.out.truncate(mark);
            self.empty(tag);
        } else {
            self.indent();
            let _ = writeln!(self.out, "</{}>", tag.name);
        }
    }

    /// Writes a parsed element as is: attributes in their order, children indented, text-only
    /// elements on one line, empty elements self-closing. Whitespace-only text between child
    /// elements is dropped; other text in mixed content is kept as written.
    pub fn tree(&mut self, el: &Element) {
        self.tree_quoted(el, '\'');
    }

    /// As [`Writer::tree`], with attribute values in double quotes (libvirt writes foreign XML such
    /// as `<metadata>` content this way).
    pub fn tree_double_quoted(&mut self, el: &Element) {
        self.tree_quoted(el, '"');
    }

    fn tree_quoted(&mut self, el: &Element, quote: char) {
        let tag = Tag {
            name: el.name.clone(),
            attrs: el
                .attrs
                .iter()
                .map(|a| (a.name.clone(), a.value.clone()))
                .collect(),
        };
        self.start_tag(&tag, quote);
        let has_elements = el.elements().next().is_some();
        if !has_elements {
            let text = el.text();
            if text.is_empty() {
                self.out.push_str("/>\n");
            } else {
                self.out.push('>');
                escape_into(&mut self.out, &text);
                let _ = writeln!(self.out, "</{}>", el.name);
            }
            return;
        }
        self.out.push_str(">\n");
        self.depth += 1;
        for child in &el.children {
            match child {
                Node::Element(e) => self.tree_quoted(e, quote),
                Node::Text(t) if t.trim().is_empty() => {}
                Node::Text(t) => {
                    self.indent();
                    escape_into(&mut self.out, t.trim());
                    self.out.push('\n');
                }
            }
        }
        self.depth -= 1;
        self.indent();
        let _ = writeln!(self.out, "</{}>", el.name);
    }

    /// Appends already formatted lines (each must end in a newline) at the current depth.
    pub fn raw(&mut self, text: &str) {
        self.out.push_str(text);
    }

    /// Whether nothing has been written yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The written text.
    pub fn finish(self) -> String {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_libvirt() {
        assert_eq!(escape("a<b>&'\""), "a&lt;b&gt;&amp;&apos;&quot;");
    }

    #[test]
    fn nests_and_self_closes() {
        let mut w = Writer::new();
        w.element(Tag::new("a").attr("x", "1"), |w| {
            w.leaf(Tag::new("b"), "t&");
            w.element(Tag::new("c"), |_| {});
        });
        assert_eq!(w.finish(), "<a x='1'>\n  <b>t&amp;</b>\n  <c/>\n</a>\n");
    }

    #[test]
    fn writes_a_tree_back() {
        let el = crate::tree::parse("<a y='2'>\n<b>t</b><c z='&apos;'/></a>").expect("parse");
        let mut w = Writer::new();
        w.tree(&el);
        assert_eq!(
            w.finish(),
            "<a y='2'>\n  <b>t</b>\n  <c z='&apos;'/>\n</a>\n"
        );
    }
}
