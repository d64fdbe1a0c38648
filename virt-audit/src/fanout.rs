//! Several sinks at once.

use std::sync::Arc;

use crate::{AuditError, AuditSink, Record};

/// Sends each record to every sink, in order. Every sink is tried even when one fails; the first
/// failure is returned.
#[derive(Debug, Clone, Default)]
pub struct FanoutSink {
    sinks: Vec<Arc<dyn AuditSink>>,
}

impl FanoutSink {
    pub fn new(sinks: Vec<Arc<dyn AuditSink>>) -> Self {
        Self { sinks }
    }

    /// Adds a sink at the end.
    pub fn with(mut self, sink: Arc<dyn AuditSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl AuditSink for FanoutSink {
    fn send(&self, record: &Record) -> Result<(), AuditError> {
        let mut first = None;
        for s in &self.sinks {
            if let Err(e) = s.send(record) {
                first.get_or_insert(e);
            }
        }
        first.map_or(Ok(()), Err)
    }
}
