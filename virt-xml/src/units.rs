//! Sizes with units, as libvirt's `scaledInteger` reads them.

use std::fmt;
use std::str::FromStr;

use crate::values::ValueError;

/// A memory size in KiB (libvirt's canonical unit for guest memory).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KiB(pub u64);

/// Bytes per unit for libvirt's unit names (`b`/`bytes`, decimal `KB`..`EB`, binary `k`/`KiB`..).
pub fn unit_bytes(unit: &str) -> Option<u64> {
    let u = unit.trim();
    let lower = u.to_ascii_lowercase();
    Some(match lower.as_str() {
        "b" | "bytes" => 1,
        "kb" => 1000,
        "k" | "kib" => 1 << 10,
        "mb" => 1_000_000,
        "m" | "mib" => 1 << 20,
        "gb" => 1_000_000_000,
        "g" | "gib" => 1 << 30,
        "tb" => 1_000_000_000_000,
        "t" | "tib" => 1 << 40,
        "pb" => 1_000_000_000_000_000,
        "p" | "pib" => 1 << 50,
        "eb" => 1_000_000_000_000_000_000,
        "e" | "eib" => 1 << 60,
        _ => return None,
    })
}

impl KiB {
    /// `value` in `unit` (default KiB), rounded up to whole KiB.
    pub fn from_scaled(value: &str, unit: Option<&str>) -> Result<KiB, ValueError> {
        let err = |reason: &str| ValueError {
            kind: "size",
            value: value.to_string(),
            reason: reason.to_string(),
        };
        let v: u64 = value
            .trim()
            .parse()
            .map_err(|_| err("not a non-negative integer"))?;
        let scale = match unit {
            None => 1024,
            Some(u) => unit_bytes(u).ok_or_else(|| ValueError {
                kind: "unit",
                value: u.to_string(),
                reason: "unknown unit".into(),
            })?,
        };
        let bytes = (v as u128) * (scale as u128);
        let kib = bytes.div_ceil(1024);
        u64::try_from(kib).map(KiB).map_err(|_| err("too large"))
    }
}

impl FromStr for KiB {
    type Err = ValueError;
    /// `"1048576"` (KiB) or `"1024 MiB"` / `"1G"`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (num, unit) = s.split_at(split);
        let unit = unit.trim();
        KiB::from_scaled(num, if unit.is_empty() { None } else { Some(unit) })
    }
}

impl fmt::Display for KiB {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scales_and_rounds_up() {
        assert_eq!(KiB::from_scaled("1", Some("MiB")).expect("mib"), KiB(1024));
        assert_eq!(KiB::from_scaled("1", Some("GB")).expect("gb"), KiB(976563));
        assert_eq!(KiB::from_scaled("1", Some("b")).expect("b"), KiB(1));
        assert_eq!("2G".parse::<KiB>().expect("g"), KiB(2 * 1024 * 1024));
        assert!(KiB::from_scaled("1", Some("parsec")).is_err());
        assert!(KiB::from_scaled("-1", None).is_err());
    }
}
