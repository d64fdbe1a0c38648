//! The IP-address learner.
