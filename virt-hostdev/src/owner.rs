//! Which guest holds which device, one small file per device under a state directory, so a restarted
//! manager knows. Files are replaced atomically (write a temporary, then rename); a lock file taken
//! with `flock` makes check-then-take atomic across managers and threads.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use virt_audit::{VirtType, VmIdentity};
use virt_xml::Uuid;

use crate::sysfs::list_dir;
use crate::{HostdevError, HostdevId};

/// The guest that holds a device, and how to give it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub vm: VmIdentity,
    /// The device was detached from its host driver for this guest and is returned on release.
    pub managed: bool,
    /// The host driver it was bound to before (PCI), to restore on release.
    pub original_driver: Option<String>,
}

impl Owner {
    /// Same guest: same virt type and UUID.
    pub fn is(&self, vm: &VmIdentity) -> bool {
        self.vm.virt == vm.virt && self.vm.uuid == vm.uuid
    }

    fn to_text(&self) -> String {
        format!(
            "virt={}\nname={}\nuuid={}\nmanaged={}\ndriver={}\n",
            self.vm.virt,
            escape(&self.vm.name),
            self.vm.uuid_string(),
            if self.managed { "yes" } else { "no" },
            self.original_driver
                .as_deref()
                .map(escape)
                .unwrap_or_default(),
        )
    }

    fn from_text(path: &Path, text: &str) -> Result<Self, HostdevError> {
        let bad = |what: String| HostdevError::BadState {
            path: path.to_path_buf(),
            what,
        };
        let (mut virt, mut name, mut uuid, mut managed, mut driver) =
            (None, None, None, None, None);
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (k, v) = line
                .split_once('=')
                .ok_or_else(|| bad(format!("line {line:?} is not key=value")))?;
            match k {
                "virt" => {
                    virt = Some(match v {
                        "kvm" => VirtType::Kvm,
                        "qemu" => VirtType::Qemu,
                        "lxc" => VirtType::Lxc,
                        "test" => VirtType::Test,
                        o => return Err(bad(format!("unknown virt type {o:?}"))),
                    })
                }
                "name" => name = Some(unescape(v)),
                "uuid" => uuid = Some(v.parse::<Uuid>().map_err(|e| bad(format!("uuid: {e}")))?.0),
                "managed" => managed = Some(v == "yes"),
                "driver" => driver = Some(unescape(v)).filter(|d| !d.is_empty()),
                _ => {}
            }
        }
        match (virt, name, uuid) {
            (Some(virt), Some(name), Some(uuid)) => Ok(Owner {
                vm: VmIdentity::new(virt, name, uuid),
                managed: managed.unwrap_or(false),
                original_driver: driver,
            }),
            _ => Err(bad("virt, name or uuid missing".into())),
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The ownership files under one directory.
#[derive(Debug, Clone)]
pub struct OwnerStore {
    dir: PathBuf,
}

/// Held while checking and changing ownership; released on drop.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
}

impl OwnerStore {
    /// Uses (and makes, if needed) `dir`.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, HostdevError> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir).map_err(|source| HostdevError::State {
            path: dir.clone(),
            source,
        })?;
        Ok(Self { dir })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn io_err(&self, path: &Path) -> impl FnOnce(io::Error) -> HostdevError {
        let path = path.to_path_buf();
        move |source| HostdevError::State { path, source }
    }

    /// Takes the store's lock (blocking until another holder lets go).
    pub fn lock(&self) -> Result<StoreLock, HostdevError> {
        let path = self.dir.join("lock");
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(self.io_err(&path))?;
        loop {
            // SAFETY: flock on an fd this function owns; no memory is passed.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if r == 0 {
                break;
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(self.io_err(&path)(e));
            }
        }
        Ok(StoreLock { _file: file })
    }

    /// The file that records `id`'s owner.
    pub fn path_of(&self, id: &HostdevId) -> Result<PathBuf, HostdevError> {
        Ok(self.dir.join(id.state_name()?))
    }

    /// Who holds `id`, if anyone.
    pub fn get(&self, id: &HostdevId) -> Result<Option<Owner>, HostdevError> {
        let path = self.path_of(id)?;
        match std::fs::read_to_string(&path) {
            Ok(t) => Owner::from_text(&path, &t).map(Some),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.io_err(&path)(e)),
        }
    }

    /// Records `owner` for `id`, replacing the file atomically.
    pub fn put(&self, id: &HostdevId, owner: &Owner) -> Result<(), HostdevError> {
        let path = self.path_of(id)?;
        let tmp = self
            .dir
            .join(format!(".{}.tmp{}", id.state_name()?, std::process::id()));
        let write = || -> io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(owner.to_text().as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            self.io_err(&path)(e)
        })
    }

    /// Forgets `id`'s owner (absent is fine).
    pub fn remove(&self, id: &HostdevId) -> Result<(), HostdevError> {
        let path = self.path_of(id)?;
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io_err(&path)(e)),
        }
    }

    /// Every held device, sorted.
    pub fn list(&self) -> Result<Vec<(HostdevId, Owner)>, HostdevError> {
        let mut out = Vec::new();
        for name in list_dir(&self.dir)? {
            let Some(id) = HostdevId::from_state_name(&name) else {
                continue;
            };
            if let Some(owner) = self.get(&id)? {
                out.push((id, owner));
            }
        }
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_text_round_trip() {
        let o = Owner {
            vm: VmIdentity::new(VirtType::Kvm, "odd\\name\nhere", [7; 16]),
            managed: true,
            original_driver: Some("e1000e".into()),
        };
        let p = Path::new("x");
        assert_eq!(Owner::from_text(p, &o.to_text()).expect("parse"), o);
        let o2 = Owner {
            original_driver: None,
            managed: false,
            ..o
        };
        assert_eq!(Owner::from_text(p, &o2.to_text()).expect("parse"), o2);
        assert!(Owner::from_text(p, "virt=kvm\n").is_err());
        assert!(Owner::from_text(p, "garbage").is_err());
    }
}
