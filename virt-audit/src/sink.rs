//! Where records go, and the audit level that decides what a failed send means.

use std::sync::{Arc, Mutex};

use crate::{AuditError, Record};

/// A destination for records. Implementations are thread-safe.
pub trait AuditSink: Send + Sync + std::fmt::Debug {
    fn send(&self, record: &Record) -> Result<(), AuditError>;
}

/// libvirt's `audit_level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuditLevel {
    /// Nothing is sent.
    Off,
    /// Sent; a failure to send is logged and the operation goes on.
    #[default]
    On,
    /// Sent; a failure to send fails the operation that needed the record.
    Strict,
}

/// A sink together with the audit level: what the OS-facing crates are given.
#[derive(Debug, Clone)]
pub struct Auditor {
    sink: Arc<dyn AuditSink>,
    level: AuditLevel,
}

impl Auditor {
    pub fn new(sink: Arc<dyn AuditSink>, level: AuditLevel) -> Self {
        Self { sink, level }
    }

    /// An auditor that records into memory, and the memory sink to read back.
    pub fn memory() -> (Self, Arc<MemorySink>) {
        let sink = Arc::new(MemorySink::default());
        (Self::new(sink.clone(), AuditLevel::On), sink)
    }

    /// An auditor that sends nothing.
    pub fn off() -> Self {
        Self::new(Arc::new(MemorySink::default()), AuditLevel::Off)
    }

    pub fn level(&self) -> AuditLevel {
        self.level
    }

    /// Sends one record according to the level: `Off` drops it; `On` logs a send failure to standard
    /// error and returns `Ok`; `Strict` returns the failure, and the caller must fail its operation.
    pub fn emit(&self, record: &Record) -> Result<(), AuditError> {
        match self.level {
            AuditLevel::Off => Ok(()),
            AuditLevel::On => {
                if let Err(e) = self.sink.send(record) {
                    eprintln!("audit: record not sent ({e}): {}", record.summary());
                }
                Ok(())
            }
            AuditLevel::Strict => self
                .sink
                .send(record)
                .map_err(|e| AuditError::Strict(Box::new(e))),
        }
    }
}

/// Keeps every record in memory, in order.
#[derive(Debug, Default)]
pub struct MemorySink {
    records: Mutex<Vec<Record>>,
}

impl MemorySink {
    pub fn records(&self) -> Vec<Record> {
        self.records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// Each record's [`Record::summary`], in order.
    pub fn summaries(&self) -> Vec<String> {
        self.records().iter().map(Record::summary).collect()
    }

    pub fn clear(&self) {
        match self.records.lock() {
            Ok(mut r) => r.clear(),
            Err(p) => p.into_inner().clear(),
        }
    }
}

impl AuditSink for MemorySink {
    fn send(&self, record: &Record) -> Result<(), AuditError> {
        match self.records.lock() {
            Ok(mut r) => r.push(record.clone()),
            Err(p) => p.into_inner().push(record.clone()),
        }
        Ok(())
    }
}
