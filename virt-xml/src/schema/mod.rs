//! The allow-list the domain, nwfilter and filter binding parsers check input against
//! ([`domain`], [`nwfilter`], [`nwfilter_binding`]), derived from libvirt's RelaxNG schemas
//! (`schemas/*.rng`): for every element pattern, the attributes it may carry (with their
//! enumerated values where the schema lists them), the child elements it may hold, and whether it
//! holds text. Checking is permissive about order and counts (the typed parser and formatter
//! handle those) but strict about names and enumerated values: an element, attribute or value the
//! schema does not know is refused with its line:column.
//!
//! The schemas stay the single source of truth: `build.rs` compiles them with [`compile`] and
//! writes the result as static tables, so a process pays nothing to build the allow-list; the
//! regular expressions of datatype patterns are compiled on first use, one by one.

pub mod compile;

use crate::error::XmlError;
use crate::tree::Element;

mod tables {
    use super::{Alt, Data, Formula, NameClass, Pattern, Schema, Values};
    include!(concat!(env!("OUT_DIR"), "/schema_tables.rs"));
}

/// One alternative an attribute value or text may match.
#[derive(Debug)]
enum Alt {
    /// Exactly this value.
    Value(&'static str),
    /// An XML Schema datatype, with its facets.
    Data(Data),
    /// Any text.
    Any,
}

#[derive(Debug)]
struct Data {
    kind: &'static str,
    /// Index into `tables::PATTERNS` of the `pattern` facet (unanchored, `regex` dialect).
    pattern: Option<usize>,
    min: Option<i128>,
    max: Option<i128>,
    max_len: Option<usize>,
}

impl Data {
    fn allows(&self, v: &str) -> bool {
        let range = |lo: i128, hi: i128| -> bool {
            let t = v.trim();
            let t = t.strip_prefix('+').unwrap_or(t);
            match t.parse::<i128>() {
                Ok(n) => {
                    n >= lo.max(self.min.unwrap_or(i128::MIN))
                        && n <= hi.min(self.max.unwrap_or(i128::MAX))
                }
                Err(_) => false,
            }
        };
        let ok = match self.kind {
            "unsignedLong" => range(0, u64::MAX as i128),
            "unsignedInt" => range(0, u32::MAX as i128),
            "unsignedShort" => range(0, u16::MAX as i128),
            "unsignedByte" => range(0, u8::MAX as i128),
            "long" => range(i64::MIN as i128, i64::MAX as i128),
            "int" => range(i32::MIN as i128, i32::MAX as i128),
            "short" => range(i16::MIN as i128, i16::MAX as i128),
            "byte" => range(i8::MIN as i128, i8::MAX as i128),
            "integer" => range(i128::MIN, i128::MAX),
            "positiveInteger" => range(1, i128::MAX),
            "nonNegativeInteger" => range(0, i128::MAX),
            _ => true,
        };
        if !ok {
            return false;
        }
        if let Some(n) = self.max_len {
            if v.chars().count() > n {
                return false;
            }
        }
        match self.pattern.and_then(regex_at) {
            Some(r) => {
                let t = if self.kind == "string" { v } else { v.trim() };
                r.is_match(t)
            }
            None => true,
        }
    }

    fn describe(&self) -> String {
        match self.pattern.and_then(|i| tables::PATTERNS.get(i)) {
            Some(p) => format!("{} matching {}", self.kind, p),
            None => self.kind.to_string(),
        }
    }
}

/// The compiled regular expression of pattern `i`, compiled on first use. `build.rs` only keeps
/// patterns that compile, so `None` (accept any text, as for a pattern the engine does not take)
/// is not reached.
fn regex_at(i: usize) -> Option<&'static regex::Regex> {
    let cell = tables::REGEXES.get(i)?;
    cell.get_or_init(|| {
        let p = tables::PATTERNS.get(i)?;
        regex::Regex::new(&compile::anchored(p)).ok()
    })
    .as_ref()
}

/// The values allowed for an attribute or an element's text: the union of alternatives.
#[derive(Debug, Clone, Copy)]
pub struct Values(&'static [Alt]);

impl Values {
    fn allows(&self, v: &str) -> bool {
        // `<value>` is a token: compare with surrounding whitespace removed.
        let t = v.trim();
        self.0.iter().any(|a| match a {
            Alt::Any => true,
            Alt::Value(x) => *x == t,
            Alt::Data(d) => d.allows(v),
        })
    }
}

/// A union of [`Values`], for error messages.
#[derive(Default)]
struct Merged(Vec<&'static Alt>);

impl Merged {
    fn merge(&mut self, other: Values) {
        if self.0.iter().any(|a| matches!(a, Alt::Any)) {
            return;
        }
        for a in other.0 {
            if let Alt::Value(v) = a {
                if self.0.iter().any(|x| matches!(x, Alt::Value(y) if y == v)) {
                    continue;
                }
            }
            self.0.push(a);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum NameClass {
    Name(&'static str),
    Any,
}

impl NameClass {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameClass::Any => true,
            NameClass::Name(n) => *n == local(name),
        }
    }
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name)
}

#[derive(Debug)]
struct Pattern {
    /// The attribute structure (required attributes, choices between fixed values).
    formula: Formula,
    name: NameClass,
    attrs: &'static [(NameClass, Values)],
    children: &'static [usize],
    text: Option<Values>,
}

/// The attribute structure of a pattern: which attributes must be present, with which values.
#[derive(Debug)]
enum Formula {
    True,
    /// `<notAllowed/>`: no instance matches.
    False,
    /// The attribute is present with a value `Schema::attr_values[index]` allows.
    Attr(&'static str, usize),
    /// A child element with this (local) name is present.
    Child(&'static str),
    And(&'static [Formula]),
    Or(&'static [Formula]),
}

/// The compiled allow-list.
#[derive(Debug)]
pub struct Schema {
    patterns: &'static [Pattern],
    /// The values of every `<attribute>` node a formula names.
    attr_values: &'static [Values],
    start: &'static [usize],
}

/// The domain schema.
pub fn domain() -> &'static Schema {
    &tables::DOMAIN
}

/// The network filter schema (`<filter>`, libvirt's `nwfilter.rng`).
pub fn nwfilter() -> &'static Schema {
    &tables::NWFILTER
}

/// The filter binding schema (`<filterbinding>`, libvirt's `nwfilterbinding.rng`).
pub fn nwfilter_binding() -> &'static Schema {
    &tables::NWFILTER_BINDING
}

impl Schema {
    /// Checks a whole document rooted at `root` (e.g. `<domain>`).
    pub fn check(&self, root: &Element) -> Result<(), XmlError> {
        let cands: Vec<usize> = self
            .start
            .iter()
            .copied()
            .filter(|&i| self.patterns[i].name.matches(&root.name))
            .collect();
        if cands.is_empty() {
            return Err(XmlError::UnknownElement {
                pos: root.pos,
                parent: "document".into(),
                element: root.name.clone(),
            });
        }
        self.check_element(root, &cands)
    }

    fn is_wildcard(&self, i: usize) -> bool {
        let p = &self.patterns[i];
        p.name == NameClass::Any && p.attrs.iter().any(|(n, _)| *n == NameClass::Any)
    }

    fn check_element(&self, el: &Element, cands: &[usize]) -> Result<(), XmlError> {
        if cands.iter().any(|&i| self.is_wildcard(i)) {
            return Ok(());
        }
        for a in &el.attrs {
            if a.name == "xmlns" || a.name.starts_with("xmlns:") {
                continue;
            }
            let mut known = false;
            let mut ok = false;
            for &i in cands {
                for (n, v) in self.patterns[i].attrs {
                    if n.matches(&a.name) {
                        known = true;
                        ok = ok || v.allows(&a.value);
                    }
                }
            }
            if !known {
                return Err(XmlError::UnknownAttribute {
                    pos: a.pos,
                    element: el.name.clone(),
                    attribute: a.name.clone(),
                });
            }
            if !ok {
                let mut allowed = Merged::default();
                for &i in cands {
                    for (n, v) in self.patterns[i].attrs {
                        if n.matches(&a.name) {
                            allowed.merge(*v);
                        }
                    }
                }
                return Err(XmlError::InvalidValue {
                    pos: a.pos,
                    element: el.name.clone(),
                    what: format!("attribute '{}'", a.name),
                    value: a.value.clone(),
                    reason: expected(&allowed),
                });
            }
        }
        if el.has_text() {
            let text = el.text();
            let texts: Vec<Values> = cands
                .iter()
                .filter_map(|&i| self.patterns[i].text)
                .collect();
            if !texts.is_empty() && texts.iter().any(|t| t.allows(text.trim())) {
                // allowed
            } else if texts.is_empty() {
                return Err(XmlError::Invalid {
                    pos: el.pos,
                    element: el.name.clone(),
                    message: "text is not allowed here".into(),
                });
            } else {
                let mut a = Merged::default();
                for t in texts {
                    a.merge(t);
                }
                return Err(XmlError::InvalidValue {
                    pos: el.pos,
                    element: el.name.clone(),
                    what: "content".into(),
                    value: text.trim().to_string(),
                    reason: expected(&a),
                });
            }
        }
        for child in el.elements() {
            let name = local(&child.name);
            let mut next: Vec<usize> = Vec::new();
            for &i in cands {
                for &c in self.patterns[i].children {
                    let hit = match &self.patterns[c].name {
                        NameClass::Any => true,
                        NameClass::Name(n) => *n == name,
                    };
                    if hit && !next.contains(&c) {
                        next.push(c);
                    }
                }
            }
            if next.is_empty() {
                return Err(XmlError::UnknownElement {
                    pos: child.pos,
                    parent: el.name.clone(),
                    element: child.name.clone(),
                });
            }
            self.check_element(child, &next)?;
        }
        if !cands.iter().any(|&i| self.attrs_fit(i, el)) {
            let missing = cands
                .iter()
                .find_map(|&i| self.explain(&self.patterns[i].formula, el));
            return Err(match missing {
                Some(what) => XmlError::Missing {
                    pos: el.pos,
                    element: el.name.clone(),
                    what,
                },
                None => XmlError::Invalid {
                    pos: el.pos,
                    element: el.name.clone(),
                    message: "this combination of attributes and elements is not allowed".into(),
                },
            });
        }
        Ok(())
    }
}

impl Schema {
    /// Whether the element's attributes can satisfy pattern `i`'s attribute structure (required
    /// attributes present, fixed values matching in at least one branch of every choice).
    fn attrs_fit(&self, i: usize, el: &Element) -> bool {
        self.eval(&self.patterns[i].formula, el)
    }

    /// What a failing formula lacks, for the error message.
    fn explain(&self, f: &Formula, el: &Element) -> Option<String> {
        match f {
            Formula::True | Formula::False => None,
            Formula::Attr(name, _) if el.attr(name).is_none() => {
                Some(format!("attribute '{name}'"))
            }
            Formula::Attr(..) => None,
            Formula::Child(name) if !self.eval(f, el) => Some(format!("element <{name}>")),
            Formula::Child(_) => None,
            Formula::And(parts) => parts
                .iter()
                .find(|p| !self.eval(p, el))
                .and_then(|p| self.explain(p, el)),
            Formula::Or(parts) => {
                let alts: Vec<String> = parts.iter().filter_map(|p| self.explain(p, el)).collect();
                (!alts.is_empty()).then(|| alts.join(" or "))
            }
        }
    }

    fn eval(&self, f: &Formula, el: &Element) -> bool {
        match f {
            Formula::True => true,
            Formula::False => false,
            Formula::Attr(name, key) => el
                .attr(name)
                .is_some_and(|v| self.attr_values.get(*key).is_none_or(|vals| vals.allows(v))),
            Formula::Child(name) => el.elements().any(|c| local(&c.name) == *name),
            Formula::And(parts) => parts.iter().all(|p| self.eval(p, el)),
            Formula::Or(parts) => parts.iter().any(|p| self.eval(p, el)),
        }
    }
}

fn expected(v: &Merged) -> String {
    let alts: Vec<String> =
        v.0.iter()
            .map(|a| match a {
                Alt::Value(x) => format!("'{x}'"),
                Alt::Data(d) => d.describe(),
                Alt::Any => "text".into(),
            })
            .collect();
    format!("expected {}", alts.join(" or "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree;

    #[test]
    fn tables_are_what_the_compiler_makes_of_the_embedded_schemas() {
        let docs = compile::parse_files();
        let dom = compile::compile(&docs, "domain.rng");
        let nwfilter = compile::compile(&docs, "nwfilter.rng");
        let binding = compile::compile(&docs, "nwfilterbinding.rng");
        assert_eq!(dom.patterns.len(), domain().patterns.len());
        let text = compile::render(&[
            ("DOMAIN", &dom),
            ("NWFILTER", &nwfilter),
            ("NWFILTER_BINDING", &binding),
        ]);
        assert!(
            text == include_str!(concat!(env!("OUT_DIR"), "/schema_tables.rs")),
            "the compiler is not deterministic"
        );
    }

    #[test]
    fn every_datatype_pattern_compiles() {
        assert!(!tables::PATTERNS.is_empty());
        for (i, p) in tables::PATTERNS.iter().enumerate() {
            assert!(regex_at(i).is_some(), "pattern {p}");
        }
    }

    #[test]
    fn schema_compiles_with_the_domain_vocabulary() {
        let s = domain();
        assert!(!s.start.is_empty());
        assert!(s.patterns.len() > 300, "{}", s.patterns.len());
    }

    #[test]
    fn xml_schema_regexes_have_no_anchors() {
        assert_eq!(compile::xsd_regex(r"\$[a-z]+"), r"\$[a-z]+");
        assert_eq!(compile::xsd_regex("$[^$]^"), r"\$[^$]\^");
        assert_eq!(compile::xsd_regex(r"[a\]$]$"), r"[a\]$]\$");
    }

    #[test]
    fn nwfilter_schemas_compile_and_check() {
        let ok = tree::parse(
            "<filter name='f'><rule action='accept' direction='in'>\
             <tcp srcipaddr='$IP' dstportstart='22'/></rule></filter>",
        )
        .expect("parse");
        nwfilter().check(&ok).expect("valid");
        let bad =
            tree::parse("<filter name='f'><rule action='accept' direction='sideways'/></filter>")
                .expect("parse");
        assert!(matches!(
            nwfilter().check(&bad),
            Err(XmlError::InvalidValue { .. })
        ));
        let b = tree::parse(
            "<filterbinding><owner><name>g</name>\
             <uuid>d54df46f-1ab5-4a22-8618-4560ef5fac2c</uuid></owner>\
             <portdev name='vnet0'/><mac address='52:54:00:7b:35:93'/>\
             <filterref filter='clean-traffic'/></filterbinding>",
        )
        .expect("parse");
        nwfilter_binding().check(&b).expect("valid");
        assert!(matches!(
            nwfilter().check(&b),
            Err(XmlError::UnknownElement { .. })
        ));
    }

    #[test]
    fn refuses_unknown_names_and_values() {
        let ok =
            tree::parse("<domain type='kvm'><name>a</name><on_crash>destroy</on_crash></domain>")
                .expect("parse");
        domain().check(&ok).expect("valid");
        let bad = tree::parse("<domain type='kvm'>\n  <nmae>a</nmae></domain>").expect("parse");
        let e = domain().check(&bad).expect_err("unknown element");
        assert!(matches!(e, XmlError::UnknownElement { .. }), "{e}");
        assert_eq!(e.pos().line, 2);
        let bad = tree::parse("<domain type='kvmm'/>").expect("parse");
        assert!(matches!(
            domain().check(&bad),
            Err(XmlError::InvalidValue { .. })
        ));
        let bad =
            tree::parse("<domain type='kvm'><on_crash>explode</on_crash></domain>").expect("parse");
        assert!(matches!(
            domain().check(&bad),
            Err(XmlError::InvalidValue { .. })
        ));
    }
}
