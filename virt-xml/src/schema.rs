//! The allow-list the domain, nwfilter and filter binding parsers check input against
//! ([`domain`], [`nwfilter`], [`nwfilter_binding`]), derived from libvirt's RelaxNG schemas
//! (`schemas/*.rng`, embedded): for every element pattern, the attributes it may carry (with their
//! enumerated values where the schema lists them), the child elements it may hold, and whether it
//! holds text. Checking is permissive about order and counts (the typed parser and formatter
//! handle those) but strict about names and enumerated values: an element, attribute or value the
//! schema does not know is refused with its line:column.

use std::collections::HashMap;
use std::sync::OnceLock;

use crate::error::XmlError;
use crate::tree::{self, Element};

const FILES: &[(&str, &str)] = &[
    ("domain.rng", include_str!("../schemas/domain.rng")),
    (
        "domainoverrides.rng",
        include_str!("../schemas/domainoverrides.rng"),
    ),
    (
        "domaincommon.rng",
        include_str!("../schemas/domaincommon.rng"),
    ),
    ("basictypes.rng", include_str!("../schemas/basictypes.rng")),
    (
        "storagecommon.rng",
        include_str!("../schemas/storagecommon.rng"),
    ),
    (
        "networkcommon.rng",
        include_str!("../schemas/networkcommon.rng"),
    ),
    ("cputypes.rng", include_str!("../schemas/cputypes.rng")),
    (
        "nwfilter_params.rng",
        include_str!("../schemas/nwfilter_params.rng"),
    ),
    (
        "privatedata.rng",
        include_str!("../schemas/privatedata.rng"),
    ),
    ("nwfilter.rng", include_str!("../schemas/nwfilter.rng")),
    (
        "nwfilterbinding.rng",
        include_str!("../schemas/nwfilterbinding.rng"),
    ),
];

/// One alternative an attribute value or text may match.
#[derive(Debug, Clone)]
enum Alt {
    /// Exactly this value.
    Value(String),
    /// An XML Schema datatype, with its facets.
    Data(Data),
    /// Any text.
    Any,
}

#[derive(Debug, Clone)]
struct Data {
    kind: String,
    pattern: Option<regex::Regex>,
    min: Option<i128>,
    max: Option<i128>,
    max_len: Option<usize>,
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
                    match regex::Regex::new(&format!("^(?:{})$", xsd_regex(text.trim()))) {
                        Ok(r) => d.pattern = Some(r),
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
        let ok = match self.kind.as_str() {
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
        match &self.pattern {
            Some(r) => {
                let t = if self.kind == "string" { v } else { v.trim() };
                r.is_match(t)
            }
            None => true,
        }
    }

    fn describe(&self) -> String {
        match &self.pattern {
            Some(r) => {
                let p = r.as_str();
                let p = p
                    .strip_prefix("^(?:")
                    .and_then(|p| p.strip_suffix(")$"))
                    .unwrap_or(p);
                format!("{} matching {}", self.kind, p)
            }
            None => self.kind.clone(),
        }
    }
}

/// An XML Schema regular expression in the `regex` crate's dialect: XML Schema has no anchors, so
/// `^` and `$` outside a character class are literal characters there.
fn xsd_regex(p: &str) -> String {
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
#[derive(Debug, Clone, Default)]
pub struct Values(Vec<Alt>);

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

    fn allows(&self, v: &str) -> bool {
        // `<value>` is a token: compare with surrounding whitespace removed.
        let t = v.trim();
        self.0.iter().any(|a| match a {
            Alt::Any => true,
            Alt::Value(x) => x == t,
            Alt::Data(d) => d.allows(v),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum NameClass {
    Name(String),
    Any,
}

impl NameClass {
    fn matches(&self, name: &str) -> bool {
        match self {
            NameClass::Any => true,
            NameClass::Name(n) => n == local(name),
        }
    }
}

fn local(name: &str) -> &str {
    name.rsplit_once(':').map(|(_, l)| l).unwrap_or(name)
}

#[derive(Debug, Clone)]
struct Pattern {
    /// The `<element>` node of the schema (`None` for the start pseudo-pattern).
    node: Option<&'static Element>,
    /// The attribute structure (required attributes, choices between fixed values).
    formula: Formula,
    name: NameClass,
    attrs: Vec<(NameClass, Values)>,
    children: Vec<usize>,
    text: Option<Values>,
}

/// The compiled allow-list.
#[derive(Debug)]
pub struct Schema {
    patterns: Vec<Pattern>,
    /// The compiled values of every `<attribute>` node, by node address.
    attr_values: HashMap<usize, Values>,
    start: Vec<usize>,
}

struct Builder<'a: 'static> {
    defines: HashMap<String, Vec<&'a Element>>,
    memo: HashMap<usize, usize>,
    patterns: Vec<Pattern>,
}

fn rng_local(e: &Element) -> &str {
    local(&e.name)
}

impl<'a: 'static> Builder<'a> {
    fn name_class(el: &Element) -> NameClass {
        if let Some(n) = el.attr("name") {
            return NameClass::Name(local(n.trim()).to_string());
        }
        for c in el.elements() {
            match rng_local(c) {
                "name" => return NameClass::Name(local(c.text().trim()).to_string()),
                "anyName" | "nsName" => return NameClass::Any,
                "choice" => return NameClass::Any,
                _ => {}
            }
        }
        NameClass::Any
    }

    fn element(&mut self, el: &'a Element) -> usize {
        let key = el as *const Element as usize;
        if let Some(&id) = self.memo.get(&key) {
            return id;
        }
        let id = self.patterns.len();
        self.patterns.push(Pattern {
            node: Some(el),
            formula: Formula::True,
            name: Self::name_class(el),
            attrs: Vec::new(),
            children: Vec::new(),
            text: None,
        });
        self.memo.insert(key, id);
        let mut visiting = Vec::new();
        for c in el.elements() {
            self.walk(c, id, &mut visiting);
        }
        id
    }

    fn walk(&mut self, node: &'a Element, id: usize, visiting: &mut Vec<String>) {
        match rng_local(node) {
            "element" => {
                let child = self.element(node);
                if !self.patterns[id].children.contains(&child) {
                    self.patterns[id].children.push(child);
                }
            }
            "attribute" => {
                let name = Self::name_class(node);
                let mut seen = Vec::new();
                let values = self.values(node, &mut seen);
                let values = values.unwrap_or_else(Values::any);
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
                if visiting.iter().any(|v| v == name) {
                    return;
                }
                visiting.push(name.to_string());
                let bodies = self.defines.get(name).cloned().unwrap_or_default();
                for body in bodies {
                    for c in body.elements() {
                        self.walk(c, id, visiting);
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

    /// The values an attribute's content allows; `None` when it says nothing (plain text).
    fn values(&self, node: &Element, seen: &mut Vec<String>) -> Option<Values> {
        values_in(&self.defines, node, seen)
    }
}

/// The values an attribute's content allows; `None` when it says nothing (plain text).
fn values_in(
    defines: &HashMap<String, Vec<&'static Element>>,
    node: &Element,
    seen: &mut Vec<String>,
) -> Option<Values> {
    {
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
                    if seen.iter().any(|s| s == name) {
                        continue;
                    }
                    seen.push(name.to_string());
                    for body in defines.get(name).cloned().unwrap_or_default() {
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
}

/// The attribute structure of a pattern: which attributes must be present, with which values.
#[derive(Debug, Clone)]
enum Formula {
    True,
    /// `<notAllowed/>`: no instance matches.
    False,
    /// The attribute is present with a value its `<attribute>` node (by address) allows.
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

fn compile_formula(
    node: &'static Element,
    defines: &HashMap<String, Vec<&'static Element>>,
    visiting: &mut Vec<&'static str>,
) -> Formula {
    match rng_local(node) {
        "attribute" => match Builder::name_class(node) {
            NameClass::Any => Formula::True,
            NameClass::Name(n) => Formula::Attr(n, node as *const Element as usize),
        },
        "notAllowed" => Formula::False,
        "element" => match Builder::name_class(node) {
            NameClass::Any => Formula::True,
            NameClass::Name(n) => Formula::Child(n),
        },
        "choice" => Formula::or(
            node.elements()
                .map(|c| compile_formula(c, defines, visiting))
                .collect(),
        ),
        "group" | "interleave" | "oneOrMore" => Formula::and(
            node.elements()
                .map(|c| compile_formula(c, defines, visiting))
                .collect(),
        ),
        "ref" => {
            let Some(name) = node.attr("name") else {
                return Formula::True;
            };
            if visiting.contains(&name) {
                return Formula::True;
            }
            let Some(bodies) = defines.get(name) else {
                return Formula::True;
            };
            visiting.push(name);
            let alts = bodies
                .iter()
                .map(|b| {
                    Formula::and(
                        b.elements()
                            .map(|c| compile_formula(c, defines, visiting))
                            .collect(),
                    )
                })
                .collect();
            visiting.pop();
            Formula::or(alts)
        }
        _ => Formula::True,
    }
}

fn compile_attrs(
    node: &'static Element,
    defines: &HashMap<String, Vec<&'static Element>>,
    out: &mut HashMap<usize, Values>,
) {
    if rng_local(node) == "attribute" {
        let v = values_in(defines, node, &mut Vec::new()).unwrap_or_else(Values::any);
        out.insert(node as *const Element as usize, v);
    }
    for c in node.elements() {
        compile_attrs(c, defines, out);
    }
}

fn collect_defines<'a>(
    root: &'a Element,
    docs: &'a HashMap<&'static str, Element>,
    defines: &mut HashMap<String, Vec<&'a Element>>,
    starts: &mut Vec<&'a Element>,
) {
    for c in root.elements() {
        match rng_local(c) {
            "define" => {
                if let Some(name) = c.attr("name") {
                    defines.entry(name.to_string()).or_default().push(c);
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

fn docs() -> &'static HashMap<&'static str, Element> {
    static DOCS: OnceLock<HashMap<&'static str, Element>> = OnceLock::new();
    DOCS.get_or_init(|| {
        FILES
            .iter()
            .filter_map(|(name, text)| tree::parse(text).ok().map(|el| (*name, el)))
            .collect()
    })
}

/// Compiles the schema whose top file is `root` (one of [`FILES`]), with what it includes.
fn build(root: &str) -> Schema {
    let docs = docs();
    let mut defines = HashMap::new();
    let mut starts = Vec::new();
    if let Some(root) = docs.get(root) {
        collect_defines(root, docs, &mut defines, &mut starts);
    }
    let mut b = Builder {
        defines: defines.clone(),
        memo: HashMap::new(),
        patterns: Vec::new(),
    };
    // A pseudo-pattern whose children are the start elements.
    b.patterns.push(Pattern {
        node: None,
        formula: Formula::True,
        name: NameClass::Any,
        attrs: Vec::new(),
        children: Vec::new(),
        text: None,
    });
    let mut visiting = Vec::new();
    for s in starts {
        for c in s.elements() {
            b.walk(c, 0, &mut visiting);
        }
    }
    let start = b.patterns[0].children.clone();
    for p in &mut b.patterns {
        if let Some(n) = p.node {
            let parts: Vec<Formula> = n
                .elements()
                .map(|c| compile_formula(c, &defines, &mut Vec::new()))
                .collect();
            p.formula = Formula::and(parts);
        }
    }
    let mut attr_values = HashMap::new();
    for doc in docs.values() {
        compile_attrs(doc, &defines, &mut attr_values);
    }
    Schema {
        patterns: b.patterns,
        attr_values,
        start,
    }
}

/// The domain schema, compiled once.
pub fn domain() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| build("domain.rng"))
}

/// The network filter schema (`<filter>`, libvirt's `nwfilter.rng`), compiled once.
pub fn nwfilter() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| build("nwfilter.rng"))
}

/// The filter binding schema (`<filterbinding>`, libvirt's `nwfilterbinding.rng`), compiled once.
pub fn nwfilter_binding() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| build("nwfilterbinding.rng"))
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
                for (n, v) in &self.patterns[i].attrs {
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
                let mut allowed = Values::default();
                for &i in cands {
                    for (n, v) in &self.patterns[i].attrs {
                        if n.matches(&a.name) {
                            allowed.merge(v.clone());
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
            let texts: Vec<&Values> = cands
                .iter()
                .filter_map(|&i| self.patterns[i].text.as_ref())
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
                let mut a = Values::default();
                for t in texts {
                    a.merge(t.clone());
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
                for &c in &self.patterns[i].children {
                    let hit = match &self.patterns[c].name {
                        NameClass::Any => true,
                        NameClass::Name(n) => n == name,
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
                .is_some_and(|v| self.attr_values.get(key).is_none_or(|vals| vals.allows(v))),
            Formula::Child(name) => el.elements().any(|c| local(&c.name) == name),
            Formula::And(parts) => parts.iter().all(|p| self.eval(p, el)),
            Formula::Or(parts) => parts.iter().any(|p| self.eval(p, el)),
        }
    }
}

fn expected(v: &Values) -> String {
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

    #[test]
    fn schema_compiles_with_the_domain_vocabulary() {
        let s = domain();
        assert!(!s.start.is_empty());
        assert!(s.patterns.len() > 300, "{}", s.patterns.len());
    }

    #[test]
    fn xml_schema_regexes_have_no_anchors() {
        assert_eq!(xsd_regex(r"\$[a-z]+"), r"\$[a-z]+");
        assert_eq!(xsd_regex("$[^$]^"), r"\$[^$]\^");
        assert_eq!(xsd_regex(r"[a\]$]$"), r"[a\]$]\$");
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
