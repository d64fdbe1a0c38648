//! The allow-list the domain, nwfilter and filter binding parsers check input against
//! ([`domain`], [`nwfilter`], [`nwfilter_binding`]), derived from libvirt's RelaxNG schemas
//! (`schemas/*.rng`): for every element pattern, the attributes it may carry (with their
//! enumerated values where the schema lists them), the child elements it may hold, and whether it
//! holds text. Checking is permissive about order and counts (the typed parser and formatter
//! handle those) but strict about names and enumerated values: an element, attribute or value the
//! schema does not know is refused with its line:column.
//!
//! The schemas stay the single source of truth: `build.rs` compiles them with [`compile`] and
//! writes the result as static tables, so a process pays nothing to build the allow-list. The
//! regular expressions of datatype patterns are determinized by `build.rs` too, into dense DFAs
//! that a process only validates, on first use, one by one: no process compiles a regex.

pub mod compile;

use crate::error::XmlError;
use crate::tree::Element;

mod tables {
    use super::{Alt, Data, Formula, NameClass, Pattern, Schema, Span, Str, Values};
    include!(concat!(env!("OUT_DIR"), "/schema_tables.rs"));
}

mod dfas {
    include!(concat!(env!("OUT_DIR"), "/schema_dfas.rs"));
}

/// Bytes aligned as the DFA deserializer needs them.
#[repr(C, align(8))]
struct Aligned<T: ?Sized>(T);

/// The serialized DFAs of the patterns, at the spans of `dfas::DFA_SPANS`.
static DFA_BLOB: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/schema_dfas.bin"
)));

type Dfa = regex_automata::dfa::dense::DFA<&'static [u32]>;

static DFAS: [std::sync::OnceLock<Option<Dfa>>; dfas::DFA_SPANS.len()] =
    [const { std::sync::OnceLock::new() }; dfas::DFA_SPANS.len()];

/// A string of `tables::STRS`: byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Str(u32, u32);

impl Str {
    fn get(self) -> &'static str {
        let (at, len) = (self.0 as usize, self.1 as usize);
        tables::STRS.get(at..at + len).unwrap_or_default()
    }
}

/// A run of one of the flat tables (`tables::ALTS`, `ATTRS`, `CHILDREN`, `FORMULAS`): start and
/// length.
#[derive(Debug, Clone, Copy)]
struct Span(u32, u32);

impl Span {
    fn of<T>(self, table: &'static [T]) -> &'static [T] {
        let (at, len) = (self.0 as usize, self.1 as usize);
        table.get(at..at + len).unwrap_or_default()
    }
}

/// One alternative an attribute value or text may match.
#[derive(Debug)]
enum Alt {
    /// Exactly this value.
    Value(Str),
    /// An XML Schema datatype, with its facets (an index into `tables::DATAS`).
    Data(u32),
    /// Any text.
    Any,
}

impl Alt {
    fn data(i: u32) -> Option<&'static Data> {
        tables::DATAS.get(i as usize)
    }
}

#[derive(Debug)]
struct Data {
    kind: Str,
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
        let kind = self.kind.get();
        let ok = match kind {
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
        match self.pattern {
            Some(i) => {
                let t = if kind == "string" { v } else { v.trim() };
                pattern_matches(i, t)
            }
            None => true,
        }
    }

    fn describe(&self) -> String {
        match self.pattern.and_then(|i| tables::PATTERNS.get(i)) {
            Some(p) => format!("{} matching {}", self.kind.get(), p),
            None => self.kind.get().to_string(),
        }
    }
}

/// Whether `t` matches pattern `i` as a whole, by the DFA `build.rs` made of it. `build.rs`
/// fails unless every pattern determinizes, and writes the DFAs in the target's byte order, so a
/// missing DFA (treated as a pattern the engine does not take: any text) is not reached; the
/// tests check it.
fn pattern_matches(i: usize, t: &str) -> bool {
    use regex_automata::dfa::Automaton;
    let Some(dfa) = dfa_at(i) else {
        return true;
    };
    let input = regex_automata::Input::new(t)
        .anchored(regex_automata::Anchored::Yes)
        .earliest(true);
    // A dense DFA without quit bytes never fails a search.
    dfa.try_search_fwd(&input).map_or(true, |m| m.is_some())
}

/// The DFA of pattern `i`, validated on first use.
fn dfa_at(i: usize) -> Option<&'static Dfa> {
    let cell = DFAS.get(i)?;
    cell.get_or_init(|| {
        let &(start, len) = dfas::DFA_SPANS.get(i)?;
        let bytes = DFA_BLOB.0.get(start..start + len)?;
        Dfa::from_bytes(bytes).ok().map(|(dfa, _)| dfa)
    })
    .as_ref()
}

/// The values allowed for an attribute or an element's text: the union of alternatives.
#[derive(Debug, Clone, Copy)]
pub struct Values(Span);

impl Values {
    fn alts(self) -> &'static [Alt] {
        self.0.of(&tables::ALTS)
    }

    fn allows(&self, v: &str) -> bool {
        // `<value>` is a token: compare with surrounding whitespace removed.
        let t = v.trim();
        self.alts().iter().any(|a| match a {
            Alt::Any => true,
            Alt::Value(x) => x.get() == t,
            Alt::Data(d) => Alt::data(*d).is_some_and(|d| d.allows(v)),
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
        for a in other.alts() {
            if let Alt::Value(v) = a {
                if self.0.iter().any(|x| matches!(x, Alt::Value(y) if y == v)) {
                    continue;
                }
            }
            self.0.push(a);
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NameClass {
    Name(Str),
    Any,
}

impl NameClass {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameClass::Any => true,
            NameClass::Name(n) => n.get() == local(name),
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
    /// A span of `tables::ATTRS`.
    attrs: Span,
    /// A span of `tables::CHILDREN`: indexes into the schema's patterns.
    children: Span,
    text: Option<Values>,
}

impl Pattern {
    fn attrs(&self) -> &'static [(NameClass, Values)] {
        self.attrs.of(&tables::ATTRS)
    }

    fn children(&self) -> impl Iterator<Item = usize> {
        self.children
            .of(&tables::CHILDREN)
            .iter()
            .map(|&c| c as usize)
    }
}

/// The attribute structure of a pattern: which attributes must be present, with which values.
#[derive(Debug)]
enum Formula {
    True,
    /// `<notAllowed/>`: no instance matches.
    False,
    /// The attribute is present with a value `Schema::attr_values[index]` allows.
    Attr(Str, usize),
    /// A child element with this (local) name is present.
    Child(Str),
    /// All of a span of `tables::FORMULAS`.
    And(Span),
    /// One of a span of `tables::FORMULAS`.
    Or(Span),
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
        p.name == NameClass::Any && p.attrs().iter().any(|(n, _)| *n == NameClass::Any)
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
                for (n, v) in self.patterns[i].attrs() {
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
                    for (n, v) in self.patterns[i].attrs() {
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
                for c in self.patterns[i].children() {
                    let hit = match self.patterns.get(c).map(|p| p.name) {
                        Some(NameClass::Any) => true,
                        Some(NameClass::Name(n)) => n.get() == name,
                        None => false,
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
            Formula::Attr(name, _) if el.attr(name.get()).is_none() => {
                Some(format!("attribute '{}'", name.get()))
            }
            Formula::Attr(..) => None,
            Formula::Child(name) if !self.eval(f, el) => Some(format!("element <{}>", name.get())),
            Formula::Child(_) => None,
            Formula::And(parts) => parts
                .of(&tables::FORMULAS)
                .iter()
                .find(|p| !self.eval(p, el))
                .and_then(|p| self.explain(p, el)),
            Formula::Or(parts) => {
                let alts: Vec<String> = parts
                    .of(&tables::FORMULAS)
                    .iter()
                    .filter_map(|p| self.explain(p, el))
                    .collect();
                (!alts.is_empty()).then(|| alts.join(" or "))
            }
        }
    }

    fn eval(&self, f: &Formula, el: &Element) -> bool {
        match f {
            Formula::True => true,
            Formula::False => false,
            Formula::Attr(name, key) => el
                .attr(name.get())
                .is_some_and(|v| self.attr_values.get(*key).is_none_or(|vals| vals.allows(v))),
            Formula::Child(name) => el.elements().any(|c| local(&c.name) == name.get()),
            Formula::And(parts) => parts.of(&tables::FORMULAS).iter().all(|p| self.eval(p, el)),
            Formula::Or(parts) => parts.of(&tables::FORMULAS).iter().any(|p| self.eval(p, el)),
        }
    }
}

fn expected(v: &Merged) -> String {
    let alts: Vec<String> =
        v.0.iter()
            .map(|a| match a {
                Alt::Value(x) => format!("'{}'", x.get()),
                Alt::Data(d) => Alt::data(*d).map_or_else(|| "text".into(), Data::describe),
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

    /// A pattern compiled as `build.rs` determinizes it.
    fn regex(p: &str) -> Option<regex::Regex> {
        regex::Regex::new(&compile::anchored(p)).ok()
    }

    #[test]
    fn every_datatype_pattern_compiles() {
        assert!(!tables::PATTERNS.is_empty());
        for p in tables::PATTERNS.iter() {
            assert!(regex(p).is_some(), "pattern {p}");
        }
    }

    #[test]
    fn every_datatype_pattern_has_a_dfa() {
        assert_eq!(dfas::DFA_SPANS.len(), tables::PATTERNS.len());
        for (i, p) in tables::PATTERNS.iter().enumerate() {
            assert!(dfa_at(i).is_some(), "pattern {p}");
        }
    }

    /// The DFAs `build.rs` made decide as the `regex` crate does, on text each pattern generates
    /// (matches, mostly) and on arbitrary text (mismatches, mostly).
    #[test]
    fn dfas_agree_with_regex() {
        use proptest::strategy::{Strategy, ValueTree};
        use proptest::test_runner::TestRunner;
        let mut runner = TestRunner::deterministic();
        let any = proptest::string::string_regex("[ -~\\n\\t\u{e9}\u{2028}\u{4e2d}]{0,24}")
            .expect("strategy");
        let (mut matched, mut total) = (0, 0);
        for (i, p) in tables::PATTERNS.iter().enumerate() {
            let re = regex(p).expect("regex");
            let own = proptest::string::string_regex(p).ok();
            for n in 0..64 {
                let t = match (&own, n % 2) {
                    (Some(s), 0) => s.new_tree(&mut runner).expect("value").current(),
                    _ => any.new_tree(&mut runner).expect("value").current(),
                };
                let by_dfa = pattern_matches(i, &t);
                assert_eq!(by_dfa, re.is_match(&t), "pattern {p} on {t:?}");
                matched += usize::from(by_dfa);
                total += 1;
            }
        }
        assert!(matched > total / 4, "{matched} of {total} matched");
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
