//! A file of records, one line each: `type=VIRT_RESOURCE msg='TEXT'`, where TEXT is what the
//! kernel sink would send (body, `exe=... hostname=? addr=? terminal=? res=...`).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::{AuditError, AuditSink, ProcessContext, Record};

/// Appends one line per record to a file (opened for appending, created if missing).
#[derive(Debug)]
pub struct FileSink {
    path: PathBuf,
    file: Mutex<File>,
    ctx: ProcessContext,
}

impl FileSink {
    /// Opens `path` for appending, describing this process as libaudit would.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, AuditError> {
        Self::with_context(path, ProcessContext::current())
    }

    /// Opens `path` for appending with the sender fields given.
    pub fn with_context(path: impl AsRef<Path>, ctx: ProcessContext) -> Result<Self, AuditError> {
        let path = path.as_ref().to_path_buf();
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .map_err(|source| AuditError::Io {
                sink: format!("file {}", path.display()),
                source,
            })?;
        Ok(Self {
            path,
            file: Mutex::new(file),
            ctx,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AuditSink for FileSink {
    fn send(&self, record: &Record) -> Result<(), AuditError> {
        let mut line = record.file_line(&self.ctx);
        line.push('\n');
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        // One write per line, so lines from several threads or processes never interleave.
        f.write_all(line.as_bytes())
            .map_err(|source| AuditError::Io {
                sink: format!("file {}", self.path.display()),
                source,
            })
    }
}
