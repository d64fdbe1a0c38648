//! `flock(2)` locks between driver processes sharing one root: a driver-wide lock for the set of
//! definitions and the id counter, and one lock per domain held across start, stop and device
//! changes. A lock dies with its process, so a killed `virtsh` never leaves one behind.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::DriverError;

/// A held exclusive lock; released on drop.
#[derive(Debug)]
pub struct FileLock {
    file: File,
    path: PathBuf,
}

fn open(path: &Path) -> Result<File, DriverError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| DriverError::io(path, e))
}

fn try_flock(file: &File) -> std::io::Result<bool> {
    // SAFETY: flock on a descriptor owned by `file`.
    let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

impl FileLock {
    /// Takes the lock, waiting at most `timeout` for its holder to let go.
    pub fn acquire(path: &Path, timeout: Duration) -> Result<FileLock, DriverError> {
        let file = open(path)?;
        let deadline = Instant::now() + timeout;
        let mut nap = Duration::from_millis(1);
        loop {
            if try_flock(&file).map_err(|e| DriverError::io(path, e))? {
                return Ok(FileLock {
                    file,
                    path: path.to_path_buf(),
                });
            }
            if Instant::now() >= deadline {
                return Err(DriverError::Locked {
                    path: path.to_path_buf(),
                    waited: timeout,
                });
            }
            std::thread::sleep(nap);
            nap = (nap * 2).min(Duration::from_millis(50));
        }
    }

    /// Takes the lock only if nobody holds it.
    pub fn try_acquire(path: &Path) -> Result<Option<FileLock>, DriverError> {
        let file = open(path)?;
        if try_flock(&file).map_err(|e| DriverError::io(path, e))? {
            Ok(Some(FileLock {
                file,
                path: path.to_path_buf(),
            }))
        } else {
            Ok(None)
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for FileLock {
    fn drop(&mut self) {
        // SAFETY: unlocking a descriptor owned by `self.file` (closing it would too).
        unsafe {
            libc::flock(self.file.as_raw_fd(), libc::LOCK_UN);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exclusive_within_and_released_on_drop() {
        let dir = virt_testkit::TempDir::new("lock").unwrap();
        let p = dir.path().join("x.lock");
        let a = FileLock::acquire(&p, Duration::from_secs(1)).unwrap();
        // flock locks belong to the open file description: a second open conflicts even in-process.
        assert!(FileLock::try_acquire(&p).unwrap().is_none());
        let e = FileLock::acquire(&p, Duration::from_millis(30)).unwrap_err();
        assert!(e.to_string().contains("x.lock"), "{e}");
        drop(a);
        assert!(FileLock::try_acquire(&p).unwrap().is_some());
    }
}
