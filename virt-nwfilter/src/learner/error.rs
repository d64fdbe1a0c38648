//! The learner's errors.

use std::path::PathBuf;

/// The error a callback returns when instantiating filters fails.
pub type ApplyError = Box<dyn std::error::Error + Send + Sync + 'static>;

#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    #[error("an IP address learner is already running on interface {0}")]
    AlreadyLearning(String),
    #[error("interface name {0:?} is not valid (1 to 15 bytes, no '/', ':', NUL or whitespace)")]
    BadInterfaceName(String),
    #[error("interface {0} does not exist")]
    NoSuchInterface(String),
    #[error("interface {ifname}: {op}: {source}")]
    Io {
        ifname: String,
        op: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("entering network namespace {}: {source}", path.display())]
    Netns {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("starting the learner thread for interface {ifname}: {source}")]
    Spawn {
        ifname: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the learner thread for interface {0} panicked")]
    Panicked(String),
    #[error(
        "instantiating the filters of interface {ifname} with learned address(es) {addrs} failed: \
         {source}; {}",
        match link_down { None => "interface brought down".to_string(),
                          Some(e) => format!("bringing the interface down failed too: {e}") }
    )]
    Apply {
        ifname: String,
        addrs: String,
        #[source]
        source: ApplyError,
        link_down: Option<std::io::Error>,
    },
    #[error(
        "filter update on interface {ifname} refused: it would add variable(s) {} while the \
         interface's IP address is being learned",
        vars.join(", ")
    )]
    UpdateWhileLearning { ifname: String, vars: Vec<String> },
    #[error("capture {source_name}: at byte {offset} (after {frames} frames): {detail}")]
    Pcap {
        source_name: String,
        offset: u64,
        frames: u64,
        detail: String,
    },
}
