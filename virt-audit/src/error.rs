use thiserror::Error;

/// Why a record could not be sent, or why an operation was refused because of it.
#[derive(Debug, Error)]
pub enum AuditError {
    #[error("audit sink {sink}: {source}")]
    Io {
        sink: String,
        #[source]
        source: std::io::Error,
    },
    #[error("kernel refused audit record type {rtype}: {message}")]
    KernelRefused { rtype: u16, message: String },
    #[error("audit record could not be sent and audit_level is strict: {0}")]
    Strict(Box<AuditError>),
}
