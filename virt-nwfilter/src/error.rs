//! Errors of filter instantiation and application.

use thiserror::Error;

/// Why a filter tree could not be turned into firewall rules or applied.
#[derive(Debug, Error)]
pub enum FilterError {
    #[error("no filter named '{0}'")]
    UnknownFilter(String),
    #[error("filter '{name}': {source}")]
    Xml {
        name: String,
        #[source]
        source: Box<virt_xml::XmlError>,
    },
    #[error("filter reference loop through '{0}'")]
    Loop(String),
    #[error("no value for variable '{0}'")]
    MissingVariable(String),
    #[error("variable '{name}' has no element {index} (it has {len} values)")]
    VariableIndex {
        name: String,
        index: usize,
        len: usize,
    },
    #[error("the value lists iterated together with '{0}' differ in length")]
    Cardinality(String),
    #[error("variable value '{value}' is not valid for {what}")]
    BadValue { value: String, what: String },
    #[error("{0}")]
    Unsupported(String),
    #[error("invalid interface name '{0}'")]
    InterfaceName(String),
    #[error("running {program}: {message}")]
    Command { program: String, message: String },
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
}
