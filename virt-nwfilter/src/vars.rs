//! Filter variables and the iteration over their values (`$IP`, `$IP[@1]`, `$IP[2]`).
//!
//! A variable has one or more values. The variables a rule uses are walked together: all
//! `$X` / `$X[@0]` of a rule move in lock step (their lists must be equally long), each other
//! iterator id moves independently (all combinations), and `$X[N]` always takes element N.
//! Combinations that repeat an earlier one of the same iterator are skipped.

use std::collections::BTreeMap;

use virt_xml::nwfilter::{Access, VarAccess};

use crate::error::FilterError;

/// Variable name -> its values, in order.
pub type Vars = BTreeMap<String, Vec<String>>;

#[derive(Debug)]
struct IterEntry {
    id: IterKey,
    names: Vec<String>,
    min: usize,
    max: usize,
    cur: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IterKey {
    User(u32),
    /// One per element access, in the order of the accesses.
    Element(usize),
}

/// Walks all value combinations for a rule's variable accesses.
#[derive(Debug)]
pub struct Combinations<'a> {
    vars: &'a Vars,
    iters: Vec<IterEntry>,
    /// For each access (by position), which iterator serves it.
    element_iter: Vec<(VarAccess, usize)>,
    started: bool,
    done: bool,
}

impl<'a> Combinations<'a> {
    /// Prepares the walk; fails when a variable has no value or iterated lists differ in length.
    pub fn new(vars: &'a Vars, accesses: &[VarAccess]) -> Result<Self, FilterError> {
        let mut iters = vec![IterEntry {
            id: IterKey::User(0),
            names: Vec::new(),
            min: 0,
            max: 0,
            cur: 0,
        }];
        let mut element_iter = Vec::new();
        for (n, a) in accesses.iter().enumerate() {
            let values = vars
                .get(&a.name)
                .ok_or_else(|| FilterError::MissingVariable(a.name.clone()))?;
            let (idx, min, max) = match a.access {
                Access::Iterator(id) => {
                    let idx = match iters.iter().position(|e| e.id == IterKey::User(id)) {
                        Some(i) => i,
                        None => {
                            iters.push(IterEntry {
                                id: IterKey::User(id),
                                names: Vec::new(),
                                min: 0,
                                max: 0,
                                cur: 0,
                            });
                            iters.len() - 1
                        }
                    };
                    (idx, 0, values.len().saturating_sub(1))
                }
                Access::Element(i) => {
                    iters.push(IterEntry {
                        id: IterKey::Element(n),
                        names: Vec::new(),
                        min: 0,
                        max: 0,
                        cur: 0,
                    });
                    let i = i as usize;
                    if i >= values.len() {
                        return Err(FilterError::VariableIndex {
                            name: a.name.clone(),
                            index: i,
                            len: values.len(),
                        });
                    }
                    (iters.len() - 1, i, i)
                }
            };
            let e = &mut iters[idx];
            if e.names.is_empty() {
                e.min = min;
                e.max = max;
                e.cur = min;
            } else if e.max != max {
                return Err(FilterError::Cardinality(a.name.clone()));
            }
            e.names.push(a.name.clone());
            element_iter.push((a.clone(), idx));
        }
        Ok(Combinations {
            vars,
            iters,
            element_iter,
            started: false,
            done: false,
        })
    }

    /// The value of `access` in the current combination.
    pub fn value(&self, access: &VarAccess) -> Option<&'a str> {
        let (_, idx) = self.element_iter.iter().find(|(a, _)| a == access)?;
        let e = &self.iters[*idx];
        self.vars
            .get(&access.name)
            .and_then(|v| v.get(e.cur))
            .map(String::as_str)
    }

    fn unique(&self, i: usize) -> bool {
        let e = &self.iters[i];
        let Some(first) = e.names.first() else {
            return true;
        };
        let Some(values) = self.vars.get(first) else {
            return true;
        };
        let Some(v) = values.get(e.cur) else {
            return true;
        };
        for prev in 0..e.cur {
            if values.get(prev) == Some(v) {
                let same = e.names[1..].iter().all(|n| {
                    let l = self.vars.get(n);
                    l.and_then(|l| l.get(e.cur)) == l.and_then(|l| l.get(prev))
                });
                if same {
                    return false;
                }
            }
        }
        true
    }

    /// Moves to the next combination; the first call stays on the first. False when done.
    pub fn advance(&mut self) -> bool {
        if self.done {
            return false;
        }
        if !self.started {
            self.started = true;
            return true;
        }
        for i in 0..self.iters.len() {
            loop {
                self.iters[i].cur += 1;
                if self.iters[i].cur <= self.iters[i].max {
                    if self.unique(i) {
                        return true;
                    }
                } else {
                    self.iters[i].cur = self.iters[i].min;
                    break;
                }
            }
        }
        self.done = true;
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::vars_from;

    fn acc(name: &str, access: Access) -> VarAccess {
        VarAccess {
            name: name.into(),
            access,
        }
    }

    fn walk(vars: &Vars, accesses: &[VarAccess]) -> Vec<Vec<String>> {
        let mut c = Combinations::new(vars, accesses).expect("combinations");
        let mut out = Vec::new();
        while c.advance() {
            out.push(
                accesses
                    .iter()
                    .map(|a| c.value(a).unwrap_or("?").to_string())
                    .collect(),
            );
        }
        out
    }

    #[test]
    fn same_iterator_moves_in_lock_step_and_skips_repeats() {
        let v = vars_from([
            ("A", "1"),
            ("A", "2"),
            ("A", "1"),
            ("B", "x"),
            ("B", "y"),
            ("B", "x"),
        ]);
        let got = walk(
            &v,
            &[acc("A", Access::Iterator(0)), acc("B", Access::Iterator(0))],
        );
        assert_eq!(got, vec![vec!["1", "x"], vec!["2", "y"]]);
    }

    #[test]
    fn different_iterators_give_all_combinations_first_fastest() {
        let v = vars_from([("A", "1"), ("A", "2"), ("B", "x"), ("B", "y")]);
        let got = walk(
            &v,
            &[acc("A", Access::Iterator(1)), acc("B", Access::Iterator(2))],
        );
        assert_eq!(
            got,
            vec![
                vec!["1", "x"],
                vec!["2", "x"],
                vec!["1", "y"],
                vec!["2", "y"]
            ]
        );
    }

    #[test]
    fn element_access_and_errors() {
        let v = vars_from([("A", "1"), ("A", "2"), ("B", "x")]);
        assert_eq!(walk(&v, &[acc("A", Access::Element(1))]), vec![vec!["2"]]);
        assert!(matches!(
            Combinations::new(&v, &[acc("A", Access::Element(5))]),
            Err(FilterError::VariableIndex { .. })
        ));
        assert!(matches!(
            Combinations::new(
                &v,
                &[acc("A", Access::Iterator(0)), acc("B", Access::Iterator(0))]
            ),
            Err(FilterError::Cardinality(_))
        ));
        assert!(matches!(
            Combinations::new(&v, &[acc("C", Access::Iterator(0))]),
            Err(FilterError::MissingVariable(n)) if n == "C"
        ));
    }
}
