//! The facade's errors: one line each, naming the domain, file or URI concerned.

/// Everything a management call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid connection URI '{uri}': {reason}")]
    Uri { uri: String, reason: String },
    #[error("domain not found: no domain with matching name '{0}'")]
    NoDomain(String),
    #[error("operation failed: domain '{name}' already exists with uuid {uuid}")]
    Exists { name: String, uuid: String },
    #[error("operation failed: domain '{name}' {what}")]
    BadState { name: String, what: String },
    #[error("XML error: {0}")]
    Xml(#[from] virt_xml::XmlError),
    #[error("{path}: {source}")]
    Io {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("unsupported: {0}")]
    Unsupported(String),
    #[error("{0}")]
    Driver(String),
}

/// A result of the facade.
pub type Result<T> = std::result::Result<T, Error>;
