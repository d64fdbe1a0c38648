//! Host side of guest NICs.
