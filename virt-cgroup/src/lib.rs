//! Per-guest cgroups and device ACLs.
