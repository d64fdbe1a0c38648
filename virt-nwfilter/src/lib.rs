//! Network filters and the IP-address learner.

pub mod learner;
