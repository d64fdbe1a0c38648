//! Where records go, and the audit level that decides what a failed send means.

use std::sync::{Arc, Mutex};

use crate::{AuditError, Outcome, Record};

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

impl AuditLevel {
    /// libvirt's `audit_level` setting: 0 off, 1 on, 2 strict.
    pub fn from_libvirt(n: u32) -> Option<Self> {
        match n {
            0 => Some(AuditLevel::Off),
            1 => Some(AuditLevel::On),
            2 => Some(AuditLevel::Strict),
            _ => None,
        }
    }
}

/// Why [`Auditor::audited`] failed: the operation itself, or (strict level) its audit record.
#[derive(Debug, thiserror::Error)]
pub enum Audited<E> {
    /// The operation failed (its `res=failed` record was sent, or its failure to send logged).
    #[error(transparent)]
    Op(E),
    /// The operation succeeded but its record could not be sent at the strict level; the
    /// operation was undone.
    #[error(transparent)]
    Audit(AuditError),
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

    /// An auditor sending to the kernel (`NETLINK_AUDIT`).
    pub fn kernel(level: AuditLevel) -> Result<Self, AuditError> {
        Ok(Self::new(Arc::new(crate::KernelSink::open()?), level))
    }

    pub fn level(&self) -> AuditLevel {
        self.level
    }

    /// The sink records go to.
    pub fn sink(&self) -> &Arc<dyn AuditSink> {
        &self.sink
    }

    /// Runs `op` and audits its outcome with `record(outcome)`, libvirt's pattern for an operation
    /// that hands a resource to a guest:
    /// - `op` fails: a `res=failed` record is emitted and `op`'s error returned;
    /// - `op` succeeds and its `res=success` record is sent (or the level is not strict): its value
    ///   is returned;
    /// - `op` succeeds but the record cannot be sent at the strict level: `undo` releases what `op`
    ///   made, a `res=failed` record is attempted, and the audit error is returned, so the
    ///   operation fails and no success record was written by the failing sink.
    pub fn audited<T, E>(
        &self,
        record: impl Fn(Outcome) -> Record,
        op: impl FnOnce() -> Result<T, E>,
        undo: impl FnOnce(T),
    ) -> Result<T, Audited<E>> {
        match op() {
            Err(e) => {
                // The operation's own error is what the caller needs; a strict failure to send its
                // failed record is logged (the operation fails either way).
                if let Err(ae) = self.emit(&record(Outcome::Failed)) {
                    eprintln!("audit: {ae}");
                }
                Err(Audited::Op(e))
            }
            Ok(v) => match self.emit(&record(Outcome::Success)) {
                Ok(()) => Ok(v),
                Err(ae) => {
                    undo(v);
                    let _ = self.emit(&record(Outcome::Failed));
                    Err(Audited::Audit(ae))
                }
            },
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Auditor>();
        assert_send_sync::<MemorySink>();
        assert_send_sync::<crate::KernelSink>();
        assert_send_sync::<crate::FileSink>();
        assert_send_sync::<crate::FanoutSink>();
    }
}
