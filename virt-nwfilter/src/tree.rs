//! A filter tree: a filter, the filters it references (recursively), and the variables each rule
//! sees. Produces the flat list of rule instances a firewall backend turns into rules.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use virt_xml::nwfilter::{
    is_valid_var_name, is_valid_var_value, parse_filter, Entry, Filter, Rule,
};

use crate::error::FilterError;
use crate::vars::Vars;

/// Where referenced filters come from.
pub trait FilterSource {
    /// The filter called `name`.
    fn filter(&self, name: &str) -> Result<Filter, FilterError>;
}

/// Filters kept in memory by name.
#[derive(Debug, Clone, Default)]
pub struct FilterSet {
    pub filters: HashMap<String, Filter>,
}

impl FilterSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) a filter under its own name.
    pub fn insert(&mut self, f: Filter) {
        self.filters.insert(f.name.clone(), f);
    }

    /// Parses every `*.xml` in `dir` as a filter.
    pub fn load_dir(dir: &Path) -> Result<Self, FilterError> {
        let mut set = FilterSet::new();
        let rd = std::fs::read_dir(dir).map_err(|source| FilterError::Io {
            context: dir.display().to_string(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = rd
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "xml"))
            .collect();
        paths.sort();
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|source| FilterError::Io {
                context: p.display().to_string(),
                source,
            })?;
            let f = parse_filter(&text).map_err(|source| FilterError::Xml {
                name: p.display().to_string(),
                source: Box::new(source),
            })?;
            set.insert(f);
        }
        Ok(set)
    }
}

impl FilterSource for FilterSet {
    fn filter(&self, name: &str) -> Result<Filter, FilterError> {
        self.filters
            .get(name)
            .cloned()
            .ok_or_else(|| FilterError::UnknownFilter(name.to_string()))
    }
}

/// Filters read from `DIR/NAME.xml` on demand (how libvirt's test harness finds referenced
/// filters).
#[derive(Debug, Clone)]
pub struct FilterDir(pub PathBuf);

impl FilterSource for FilterDir {
    fn filter(&self, name: &str) -> Result<Filter, FilterError> {
        if name.contains('/') {
            return Err(FilterError::UnknownFilter(name.to_string()));
        }
        let p = self.0.join(format!("{name}.xml"));
        let text = std::fs::read_to_string(&p)
            .map_err(|_| FilterError::UnknownFilter(name.to_string()))?;
        parse_filter(&text).map_err(|source| FilterError::Xml {
            name: name.to_string(),
            source: Box::new(source),
        })
    }
}

/// One rule of the tree with the chain it goes into and the variables it sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInst {
    pub rule: Rule,
    /// The chain suffix of the filter the rule is in (`root`, `ipv4-ip`, ...).
    pub chain: String,
    pub chain_priority: i32,
    /// The rule's priority (adjusted by backends where needed).
    pub priority: i32,
    pub vars: Vars,
}

/// How deep filter references may nest.
pub const MAX_DEPTH: usize = 64;

/// Flattens `root` and what it references, depth first, into rule instances. `vars` are the
/// interface's variables; a `<filterref>`'s parameters add to them for the referenced subtree
/// (the outer values win where both give a name, as libvirt does).
pub fn flatten(
    root: &Filter,
    source: &dyn FilterSource,
    vars: &Vars,
) -> Result<Vec<RuleInst>, FilterError> {
    check_vars(vars)?;
    let mut out = Vec::new();
    let mut stack = vec![root.name.clone()];
    walk(root, source, vars, &mut out, &mut stack)?;
    Ok(out)
}

/// Refuses variable names or values with characters libvirt does not allow (values end up in
/// firewall commands and batches).
pub fn check_vars(vars: &Vars) -> Result<(), FilterError> {
    for (k, vals) in vars {
        if !is_valid_var_name(k) || k.is_empty() {
            return Err(FilterError::BadValue {
                value: k.clone(),
                what: "a variable name".into(),
            });
        }
        for v in vals {
            if !is_valid_var_value(v) {
                return Err(FilterError::BadValue {
                    value: v.clone(),
                    what: format!("variable '{k}'"),
                });
            }
        }
    }
    Ok(())
}

fn walk(
    f: &Filter,
    source: &dyn FilterSource,
    vars: &Vars,
    out: &mut Vec<RuleInst>,
    stack: &mut Vec<String>,
) -> Result<(), FilterError> {
    for e in &f.entries {
        match e {
            Entry::Rule(r) => out.push(RuleInst {
                rule: r.clone(),
                chain: f.chain.clone(),
                chain_priority: f.chain_priority,
                priority: r.priority,
                vars: vars.clone(),
            }),
            Entry::Ref(r) => {
                if stack.contains(&r.filter) || stack.len() >= MAX_DEPTH {
                    return Err(FilterError::Loop(r.filter.clone()));
                }
                let sub = source.filter(&r.filter)?;
                let mut merged: Vars = r.params.clone();
                check_vars(&merged)?;
                for (k, v) in vars {
                    merged.insert(k.clone(), v.clone());
                }
                stack.push(r.filter.clone());
                walk(&sub, source, &merged, out, stack)?;
                stack.pop();
            }
        }
    }
    Ok(())
}

/// The variables the tree under `root` uses that neither `given` nor a `<filterref>` parameter
/// on the way supplies (for example `IP` for `clean-traffic` when the address is not known yet).
pub fn missing_variables(
    root: &Filter,
    source: &dyn FilterSource,
    given: &BTreeSet<String>,
) -> Result<BTreeSet<String>, FilterError> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.name.clone()];
    missing_walk(root, source, given, &mut out, &mut stack)?;
    Ok(out)
}

fn missing_walk(
    f: &Filter,
    source: &dyn FilterSource,
    known: &BTreeSet<String>,
    out: &mut BTreeSet<String>,
    stack: &mut Vec<String>,
) -> Result<(), FilterError> {
    for e in &f.entries {
        match e {
            Entry::Rule(r) => {
                for a in r.var_accesses() {
                    if !known.contains(&a.name) {
                        out.insert(a.name);
                    }
                }
            }
            Entry::Ref(r) => {
                if stack.contains(&r.filter) || stack.len() >= MAX_DEPTH {
                    return Err(FilterError::Loop(r.filter.clone()));
                }
                let sub = source.filter(&r.filter)?;
                let mut k = known.clone();
                k.extend(r.params.keys().cloned());
                stack.push(r.filter.clone());
                missing_walk(&sub, source, &k, out, stack)?;
                stack.pop();
            }
        }
    }
    Ok(())
}

/// Every variable name the tree under `root` uses, wherever it is supplied.
pub fn required_variables(
    root: &Filter,
    source: &dyn FilterSource,
) -> Result<BTreeSet<String>, FilterError> {
    missing_variables(root, source, &BTreeSet::new())
}

/// Builds a [`Vars`] from `(name, value)` pairs, appending repeated names.
pub fn vars_from<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vars {
    let mut v: Vars = BTreeMap::new();
    for (k, val) in pairs {
        v.entry(k.to_string()).or_default().push(val.to_string());
    }
    v
}
