//! The compiler from libvirt's RelaxNG files to the allow-list tables.
//!
//! Used by `build.rs` (which includes this file and writes the tables as Rust statics, so a process
//! never parses a schema) and by the `schema_startup` benchmark and the tests. For every element
//! pattern it collects the attributes it may carry (with their values), the child element patterns
//! it may hold, the text it may hold, and its attribute structure as a boolean formula.

use std::collections::HashMap;
use std::fmt::Write as _;

use crate::tree::{self, Element};

/// The embedded schema files, by the name `<include href>` uses.
pub const FILES: &[(&str, &str)] = &[
    ("domain.rng", include_str!("../../schemas/domain.rng")),
    (
        "domainoverrides.rng",
        include_str!("../../schemas/domainoverrides.rng"),
    ),
    (
        "domaincommon.rng",
        include_str!("../../schemas/domaincommon.rng"),
    ),
    (
        "basictypes.rng",
        include_str!("../../schemas/basictypes.rng"),
    ),
    (
        "storagecommon.rng",
        include_str!("../../schemas/storagecommon.rng"),
    ),
    (
        "networkcommon.rng",
        include_str!("../../schemas/networkcommon.rng"),
    ),
    ("cputypes.rng", include_str!("../../schemas/cputypes.rng")),
    (
        "nwfilter_params.rng",
        include_str!("../../schemas/nwfilter_params.rng"),
    ),
    (
        "privatedata.rng",
        include_str!("../../schemas/privatedata.rng"),
    ),
    ("nwfilter.rng", include_str!("../../schemas/nwfilter.rng")),
    (
        "nwfilterbinding.rng",
        include_str!("../../schemas/nwfilterbinding.rng"),
    ),
];

/// One alternative an attribute value or text may match.
#[derive(Debug, Clone, PartialEq)]
pub enum Alt {
    /// Exactly this value.
    Value(String),
    /// An XML Schema datatype, with its facets.
    Data(Data),
    /// Any text.
    Any,
}

/// An XML Schema datatype with its facets.
#[derive(Debug, Clone, PartialEq)]
pub struct Data {
    pub kind: String,
    /// The `pattern` facet in the `regex` crate's dialect, unanchored (known to compile).
    pub pattern: Option<String>,
    pub min: Option<i128>,
    pub max: Option<i128>,
    pub max_len: Option<usize>,
}

/// The anchored form of a translated pattern, as it is compiled.
pub fn anchored(pattern: &str) -> String {
    format!("^(?:{pattern})$")
}

impl Data {
    fn from_rng(node: &Element) -> Alt {
        let kind = node.attr("type").unwrap_or("string").to_string();
        let mut d = Data {
            kind,
            pattern: None,
            min: None,
            max: None,
            max_len: None,
        };
        for p in node.children_named("param") {
            let text = p.text();
            match p.attr("name") {
                Some("pattern") => {
                    let translated = xsd_regex(text.trim());
                    match regex::Regex::new(&anchored(&translated)) {
                        Ok(_) => d.pattern = Some(translated),
                        // A pattern in a dialect the regex engine does not take: accept any text.
                        Err(_) => return Alt::Any,
                    }
                }
                Some("minInclusive") => d.min = text.trim().parse().ok(),
                Some("maxInclusive") => d.max = text.trim().parse().ok(),
                Some("maxLength") => d.max_len = text.trim().parse().ok(),
                _ => {}
            }
        }
        Alt::Data(d)
    }
}

/// An XML Schema regular expression in the `regex` crate's dialect: XML Schema has no anchors, so
/// `^` and `$` outside a character class are literal characters there.
pub fn xsd_regex(p: &str) -> String {
    let mut out = String::with_capacity(p.len() + 4);
    let mut class_depth = 0usize;
    let mut chars = p.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                out.push(c);
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' => {
                class_depth += 1;
                out.push(c);
            }
            ']' if class_depth > 0 => {
                class_depth -= 1;
                out.push(c);
            }
            '^' | '$' if class_depth == 0 => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The values allowed for an attribute or an element's text: the union of alternatives.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Values(pub Vec<Alt>);

impl Values {
    fn any() -> Values {
        Values(vec![Alt::Any])
    }

    fn merge(&mut self, other: Values) {
        if self.0.iter().any(|a| matches!(a, Alt::Any)) {
            return;
        }
        for a in other.0 {
            if let Alt::Value(v) = &a {
                if self.0.iter().any(|x| matches!(x, Alt::Value(y) if y == v)) {
                    continue;
                }
            }
            self.0.push(a);
        }
    }
}

/// An element or attribute name: one local name, or any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameClass {
    Name(String),
    Any,
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name)
}

fn rng_local(e: &Element) -> &str {
    local(&e.name)
}

/// The attribute structure of a pattern: which attributes must be present, with which values.
#[derive(Debug, Clone, PartialEq)]
pub enum Formula {
    True,
    /// `<notAllowed/>`: no instance matches.
    False,
    /// The attribute is present with a value its `<attribute>` node allows (an index into
    /// [`Compiled::attr_values`]).
    Attr(String, usize),
    /// A child element with this (local) name is present.
    Child(String),
    And(Vec<Formula>),
    Or(Vec<Formula>),
}

impl Formula {
    fn and(parts: Vec<Formula>) -> Formula {
        if parts.iter().any(|p| matches!(p, Formula::False)) {
            return Formula::False;
        }
        let parts: Vec<Formula> = parts
            .into_iter()
            .filter(|p| !matches!(p, Formula::True))
            .collect();
        match parts.len() {
            0 => Formula::True,
            1 => parts.into_iter().next().unwrap_or(Formula::True),
            _ => Formula::And(parts),
        }
    }

    fn or(parts: Vec<Formula>) -> Formula {
        let parts: Vec<Formula> = parts
            .into_iter()
            .filter(|p| !matches!(p, Formula::False))
            .collect();
        if parts.is_empty() {
            return Formula::False;
        }
        if parts.iter().any(|p| matches!(p, Formula::True)) {
            return Formula::True;
        }
        if parts.len() == 1 {
            return parts.into_iter().next().unwrap_or(Formula::True);
        }
        Formula::Or(parts)
    }
}

/// One element pattern.
#[derive(Debug, Clone, PartialEq)]
pub struct Pattern {
    pub formula: Formula,
    pub name: NameClass,
    pub attrs: Vec<(NameClass, Values)>,
    pub children: Vec<usize>,
    pub text: Option<Values>,
}

/// A compiled schema, owned (the form `build.rs` renders as statics).
#[derive(Debug, Clone, PartialEq)]
pub struct Compiled {
    pub patterns: Vec<Pattern>,
    /// The values of every `<attribute>` node a formula names.
    pub attr_values: Vec<Values>,
    pub start: Vec<usize>,
}

type Defines<'a> = HashMap<&'a str, Vec<&'a Element>>;

struct Builder<'a, 'd> {
    defines: &'d Defines<'a>,
    memo: HashMap<*const Element, usize>,
    nodes: Vec<Option<&'a Element>>,
    patterns: Vec<Pattern>,
}

fn name_class(el: &Element) -> NameClass {
    if let Some(n) = el.attr("name") {
        return NameClass::Name(local(n.trim()).to_string());
    }
    for c in el.elements() {
        match rng_local(c) {
            "name" => return NameClass::Name(local(c.text().trim()).to_string()),
            "anyName" | "nsName" | "choice" => return NameClass::Any,
            _ => {}
        }
    }
    NameClass::Any
}

impl<'a> Builder<'a, '_> {
    fn element(&mut self, el: &'a Element) -> usize {
        let key = el as *const Element;
        if let Some(&id) = self.memo.get(&key) {
            return id;
        }
        let id = self.patterns.len();
        self.patterns.push(Pattern {
            formula: Formula::True,
            name: name_class(el),
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        });
        self.nodes.push(Some(el));
        self.memo.insert(key, id);
        let mut visiting = Vec::new();
        for c in el.elements() {
            self.walk(c, id, &mut visiting);
        }
        id
    }

    fn walk(&mut self, node: &'a Element, id: usize, visiting: &mut Vec<&'a str>) {
        match rng_local(node) {
            "element" => {
                let child = self.element(node);
                if !self.patterns[id].children.contains(&child) {
                    self.patterns[id].children.push(child);
                }
            }
            "attribute" => {
                let name = name_class(node);
                let values =
                    values_in(self.defines, node, &mut Vec::new()).unwrap_or_else(Values::any);
                let attrs = &mut self.patterns[id].attrs;
                match attrs.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, v)) => v.merge(values),
                    None => attrs.push((name, values)),
                }
            }
            "ref" => {
                let Some(name) = node.attr("name") else {
                    return;
                };
                if visiting.contains(&name) {
                    return;
                }
                visiting.push(name);
                let defines = self.defines;
                if let Some(bodies) = defines.get(name) {
                    for body in bodies {
                        for c in body.elements() {
                            self.walk(c, id, visiting);
                        }
                    }
                }
                visiting.pop();
            }
            "text" | "list" => self.text(id, Values::any()),
            "data" => self.text(id, Values(vec![Data::from_rng(node)])),
            "value" => self.text(id, Values(vec![Alt::Value(node.text().trim().to_string())])),
            "mixed" => {
                self.text(id, Values::any());
                for c in node.elements() {
                    self.walk(c, id, visiting);
                }
            }
            "choice" | "group" | "interleave" | "optional" | "zeroOrMore" | "oneOrMore" => {
                for c in node.elements() {
                    self.walk(c, id, visiting);
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, id: usize, v: Values) {
        match &mut self.patterns[id].text {
            Some(t) => t.merge(v),
            t @ None => *t = Some(v),
        }
    }
}

/// The values an attribute's content allows; `None` when it says nothing (plain text).
fn values_in<'a>(
    defines: &Defines<'a>,
    node: &'a Element,
    seen: &mut Vec<&'a str>,
) -> Option<Values> {
    let mut out: Option<Values> = None;
    let add = |out: &mut Option<Values>, v: Values| match out {
        Some(o) => o.merge(v),
        None => *out = Some(v),
    };
    for c in node.elements() {
        match rng_local(c) {
            "value" => add(
                &mut out,
                Values(vec![Alt::Value(c.text().trim().to_string())]),
            ),
            "data" => add(&mut out, Values(vec![Data::from_rng(c)])),
            "text" | "list" => add(&mut out, Values::any()),
            "ref" => {
                let Some(name) = c.attr("name") else { continue };
                if seen.contains(&name) {
                    continue;
                }
                seen.push(name);
                for body in defines.get(name).into_iter().flatten() {
                    if let Some(v) = values_in(defines, body, seen) {
                        add(&mut out, v);
                    }
                }
            }
            "choice" | "group" | "optional" => {
                if let Some(v) = values_in(defines, c, seen) {
                    add(&mut out, v);
                }
            }
            _ => {}
        }
    }
    out
}

struct FormulaCx<'a, 'd> {
    defines: &'d Defines<'a>,
    /// `<attribute>` node -> index into `attr_values`.
    attr_index: HashMap<*const Element, usize>,
    attr_values: Vec<Values>,
}

impl<'a> FormulaCx<'a, '_> {
    fn formula(&mut self, node: &'a Element, visiting: &mut Vec<&'a str>) -> Formula {
        match rng_local(node) {
            "attribute" => match name_class(node) {
                NameClass::Any => Formula::True,
                NameClass::Name(n) => {
                    let key = node as *const Element;
                    let idx = match self.attr_index.get(&key) {
                        Some(&i) => i,
                        None => {
                            let v = values_in(self.defines, node, &mut Vec::new())
                                .unwrap_or_else(Values::any);
                            self.attr_values.push(v);
                            let i = self.attr_values.len() - 1;
                            self.attr_index.insert(key, i);
                            i
                        }
                    };
                    Formula::Attr(n, idx)
                }
            },
            "notAllowed" => Formula::False,
            "element" => match name_class(node) {
                NameClass::Any => Formula::True,
                NameClass::Name(n) => Formula::Child(n),
            },
            "choice" => {
                let parts = node.elements().map(|c| self.formula(c, visiting)).collect();
                Formula::or(parts)
            }
            "group" | "interleave" | "oneOrMore" => {
                let parts = node.elements().map(|c| self.formula(c, visiting)).collect();
                Formula::and(parts)
            }
            "ref" => {
                let Some(name) = node.attr("name") else {
                    return Formula::True;
                };
                if visiting.contains(&name) {
                    return Formula::True;
                }
                let defines = self.defines;
                let Some(bodies) = defines.get(name) else {
                    return Formula::True;
                };
                visiting.push(name);
                let alts = bodies
                    .iter()
                    .map(|b| {
                        let parts = b.elements().map(|c| self.formula(c, visiting)).collect();
                        Formula::and(parts)
                    })
                    .collect();
                visiting.pop();
                Formula::or(alts)
            }
            _ => Formula::True,
        }
    }
}

fn collect_defines<'a>(
    root: &'a Element,
    docs: &'a HashMap<&str, Element>,
    defines: &mut Defines<'a>,
    starts: &mut Vec<&'a Element>,
) {
    for c in root.elements() {
        match rng_local(c) {
            "define" => {
                if let Some(name) = c.attr("name") {
                    defines.entry(name).or_default().push(c);
                }
            }
            "start" => starts.push(c),
            "include" => {
                if let Some(doc) = c.attr("href").and_then(|h| docs.get(h)) {
                    collect_defines(doc, docs, defines, starts);
                }
                collect_defines(c, docs, defines, starts);
            }
            _ => {}
        }
    }
}

/// The parsed embedded schema files, by name.
pub fn parse_files() -> HashMap<&'static str, Element> {
    FILES
        .iter()
        .filter_map(|(name, text)| tree::parse(text).ok().map(|el| (*name, el)))
        .collect()
}

/// Compiles the schema whose top file is `root` (one of [`FILES`]), with what it includes.
pub fn compile(docs: &HashMap<&str, Element>, root: &str) -> Compiled {
    let mut defines = Defines::new();
    let mut starts = Vec::new();
    if let Some(root) = docs.get(root) {
        collect_defines(root, docs, &mut defines, &mut starts);
    }
    let mut b = Builder {
        defines: &defines,
        memo: HashMap::new(),
        nodes: vec![None],
        // A pseudo-pattern whose children are the start elements.
        patterns: vec![Pattern {
            formula: Formula::True,
            name: NameClass::Any,
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        }],
    };
    let mut visiting = Vec::new();
    for s in starts {
        for c in s.elements() {
            b.walk(c, 0, &mut visiting);
        }
    }
    let start = b.patterns[0].children.clone();
    let mut cx = FormulaCx {
        defines: &defines,
        attr_index: HashMap::new(),
        attr_values: Vec::new(),
    };
    let mut patterns = b.patterns;
    for (p, n) in patterns.iter_mut().zip(b.nodes) {
        if let Some(n) = n {
            let parts = n
                .elements()
                .map(|c| cx.formula(c, &mut Vec::new()))
                .collect();
            p.formula = Formula::and(parts);
        }
    }
    Compiled {
        patterns,
        attr_values: cx.attr_values,
        start,
    }
}

/// The domain schema compiled from the embedded files, from scratch (what building the
/// allow-list at run time would cost; the library uses the tables `build.rs` made).
pub fn domain() -> Compiled {
    compile(&parse_files(), "domain.rng")
}

/// Writes compiled schemas as Rust source: one `static NAME: Schema` per schema, and the patterns
/// of all of them in `PATTERNS` (which `build.rs` determinizes into DFAs, by index).
///
/// The tables hold no pointers but the few slices of `Schema`: names and values are spans of one
/// string `STRS`, and lists are spans of the flat arrays `ALTS`, `DATAS`, `ATTRS`, `CHILDREN`
/// and `FORMULAS`. A pointer in a static costs a relocation at every process start (and makes the
/// page it sits on private); spans cost nothing until read.
pub fn render(schemas: &[(&str, &Compiled)]) -> String {
    render_with_patterns(schemas).0
}

/// [`render`], also giving the patterns in the order of `PATTERNS` (for `build.rs`, which
/// compiles them into DFAs).
pub fn render_with_patterns(schemas: &[(&str, &Compiled)]) -> (String, Vec<String>) {
    let mut r = Render::default();
    let mut statics = String::new();
    for (name, s) in schemas {
        let _ = write!(
            statics,
            "pub(super) static {name}: Schema = Schema {{\n    patterns: &[\n"
        );
        for p in &s.patterns {
            let formula = r.formula(&p.formula);
            let name = r.name(&p.name);
            let attrs: Vec<String> = p
                .attrs
                .iter()
                .map(|(n, v)| format!("({}, {})", r.name(n), r.values(v)))
                .collect();
            let attrs = Render::push(&mut r.attrs, attrs);
            let children = Render::push(
                &mut r.children,
                p.children.iter().map(|c| c.to_string()).collect(),
            );
            let text = match &p.text {
                Some(v) => format!("Some({})", r.values(v)),
                None => "None".into(),
            };
            let _ = writeln!(
                statics,
                "        Pattern {{ formula: {formula}, name: {name}, attrs: {attrs}, \
                 children: {children}, text: {text} }},"
            );
        }
        statics.push_str("    ],\n    attr_values: &[\n");
        for v in &s.attr_values {
            let v = r.values(v);
            let _ = writeln!(statics, "        {v},");
        }
        let _ = write!(statics, "    ],\n    start: &{:?},\n}};\n\n", s.start);
    }
    let mut out = String::new();
    let _ = writeln!(out, "pub(super) static STRS: &str = {:?};", r.strs);
    for (name, ty, items) in [
        ("ALTS", "Alt", &r.alts),
        ("DATAS", "Data", &r.datas),
        ("ATTRS", "(NameClass, Values)", &r.attrs),
        ("CHILDREN", "u32", &r.children),
        ("FORMULAS", "Formula", &r.formulas),
    ] {
        let _ = writeln!(
            out,
            "pub(super) static {name}: [{ty}; {}] = [{}];",
            items.len(),
            items.join(", ")
        );
    }
    out.push_str(&statics);
    let _ = writeln!(
        out,
        "pub(super) static PATTERNS: [&str; {}] = {:?};",
        r.patterns.len(),
        r.patterns
    );
    (out, r.patterns)
}

/// The flat tables being rendered, as Rust expressions.
#[derive(Default)]
struct Render {
    patterns: Vec<String>,
    strs: String,
    str_at: HashMap<String, usize>,
    alts: Vec<String>,
    datas: Vec<String>,
    attrs: Vec<String>,
    children: Vec<String>,
    formulas: Vec<String>,
}

impl Render {
    /// Appends `items` to a flat table as one contiguous run, giving its `Span`.
    fn push(table: &mut Vec<String>, items: Vec<String>) -> String {
        let span = format!("Span({}, {})", table.len(), items.len());
        table.extend(items);
        span
    }

    /// `s` as a span of `STRS` (each distinct string stored once).
    fn str(&mut self, s: &str) -> String {
        let at = match self.str_at.get(s) {
            Some(&at) => at,
            None => {
                let at = self.strs.len();
                self.strs.push_str(s);
                self.str_at.insert(s.to_string(), at);
                at
            }
        };
        format!("Str({at}, {})", s.len())
    }

    fn name(&mut self, n: &NameClass) -> String {
        match n {
            NameClass::Name(s) => format!("NameClass::Name({})", self.str(s)),
            NameClass::Any => "NameClass::Any".into(),
        }
    }

    fn values(&mut self, v: &Values) -> String {
        let mut alts = Vec::with_capacity(v.0.len());
        for a in &v.0 {
            alts.push(match a {
                Alt::Value(s) => format!("Alt::Value({})", self.str(s)),
                Alt::Any => "Alt::Any".into(),
                Alt::Data(d) => {
                    let pattern = match &d.pattern {
                        Some(p) => {
                            let i = match self.patterns.iter().position(|x| x == p) {
                                Some(i) => i,
                                None => {
                                    self.patterns.push(p.clone());
                                    self.patterns.len() - 1
                                }
                            };
                            format!("Some({i})")
                        }
                        None => "None".into(),
                    };
                    let kind = self.str(&d.kind);
                    self.datas.push(format!(
                        "Data {{ kind: {kind}, pattern: {pattern}, min: {:?}, max: {:?}, max_len: {:?} }}",
                        d.min, d.max, d.max_len
                    ));
                    format!("Alt::Data({})", self.datas.len() - 1)
                }
            });
        }
        format!("Values({})", Render::push(&mut self.alts, alts))
    }

    fn formula(&mut self, f: &Formula) -> String {
        match f {
            Formula::True => "Formula::True".into(),
            Formula::False => "Formula::False".into(),
            Formula::Attr(n, i) => format!("Formula::Attr({}, {i})", self.str(n)),
            Formula::Child(n) => format!("Formula::Child({})", self.str(n)),
            Formula::And(parts) | Formula::Or(parts) => {
                let parts: Vec<String> = parts.iter().map(|p| self.formula(p)).collect();
                let span = Render::push(&mut self.formulas, parts);
                if matches!(f, Formula::And(_)) {
                    format!("Formula::And({span})")
                } else {
                    format!("Formula::Or({span})")
                }
            }
        }
    }
}
