//! Learners: one thread per interface, registered so there is at most one per interface name.

use std::collections::{BTreeSet, HashMap};
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Mutex, MutexGuard, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use virt_xml::MacAddr;

use super::capture::{check_ifname, Capture};
use super::collect::Collector;
use super::error::{ApplyError, LearnError};
use super::frame::{learn_into, Learned, MatchOptions};

/// How often a waiting learner checks that its interfaces still exist.
const CHECK_INTERVAL: Duration = Duration::from_millis(200);
/// Receive buffer: any frame a tap hands up, including GSO-sized ones.
const FRAME_BUF: usize = 65536 + 64;

/// The interface whose filters a learner instantiates once it knows the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The guest's interface (tap or macvtap): the one filtered, and brought down on failure.
    pub ifname: String,
    pub mac: MacAddr,
    /// The interface listened on: `ifname`, or for macvtap its parent.
    pub listen_dev: String,
}

/// Why a learner stopped without learning.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    Cancelled,
    InterfaceGone,
    TimedOut,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Stop::Cancelled => "cancelled",
            Stop::InterfaceGone => "interface disappeared",
            Stop::TimedOut => "timed out",
        })
    }
}

/// How a learner ended (errors aside).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Addresses learned and applied (each application succeeded).
    Learned(Vec<Learned>),
    /// Nothing learned.
    NotLearned(Stop),
}

/// What a learner does with what it learns: the seam to the filter engine.
///
/// `apply` is called on the learner's thread each time the learned set grows (with libvirt's
/// defaults: once, with one IPv4 address). It must instantiate the interface's filters with `IP`
/// (and `IPV6`) set to these addresses; if it fails, the learner brings `target.ifname` down and
/// ends with [`LearnError::Apply`]. `apply` runs while the interface still counts as learning
/// (it is the learner's own filter update, not one to refuse).
pub trait OnLearned: Send + 'static {
    fn apply(&mut self, target: &Target, learned: &[Learned]) -> Result<(), ApplyError>;

    /// Learning ended without an address (libvirt then installs drop-all rules). Default: nothing.
    fn not_learned(&mut self, _target: &Target, _why: Stop) {}
}

impl<F> OnLearned for F
where
    F: FnMut(&Target, &[Learned]) -> Result<(), ApplyError> + Send + 'static,
{
    fn apply(&mut self, target: &Target, learned: &[Learned]) -> Result<(), ApplyError> {
        self(target, learned)
    }
}

/// How to learn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LearnOptions {
    /// Which ways (DHCP/static) and whether IPv6 too.
    pub matching: MatchOptions,
    /// Addresses per family before learning is done (1: libvirt's behaviour).
    pub max_per_family: usize,
    /// Give up after this long (libvirt uses one for macvtap); `None`: until cancelled or the
    /// interface disappears.
    pub timeout: Option<Duration>,
    /// Listen here instead of on the interface itself (a macvtap's parent).
    pub listen_dev: Option<String>,
    /// Open the capture inside this network namespace (`/run/netns/NAME`); the learner's thread
    /// enters it.
    pub netns: Option<PathBuf>,
    /// The variables the interface's filter uses now; an update adding others is refused while
    /// learning (see [`Registry::check_filter_update`]).
    pub filter_vars: BTreeSet<String>,
}

impl Default for LearnOptions {
    fn default() -> Self {
        LearnOptions {
            matching: MatchOptions::default(),
            max_per_family: 1,
            timeout: None,
            listen_dev: None,
            netns: None,
            filter_vars: BTreeSet::new(),
        }
    }
}

/// A one-shot wake-up for the learner's poll: an eventfd plus a flag.
#[derive(Debug)]
struct Cancel {
    fd: OwnedFd,
    fired: AtomicBool,
}

impl Cancel {
    fn new() -> io::Result<Self> {
        // SAFETY: plain eventfd(2); the result is checked and owned right away.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(Cancel {
            // SAFETY: a fresh descriptor nobody else owns.
            fd: unsafe { OwnedFd::from_raw_fd(raw) },
            fired: AtomicBool::new(false),
        })
    }

    fn fire(&self) {
        self.fired.store(true, Ordering::SeqCst);
        let one: u64 = 1;
        // SAFETY: writes 8 bytes from a live u64 to our eventfd. A full counter cannot happen
        // (one write per fire), and the flag is set anyway.
        let _ = unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }

    fn fired(&self) -> bool {
        self.fired.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Running {
    id: u64,
    cancel: Arc<Cancel>,
    vars: BTreeSet<String>,
}

#[derive(Debug, Default)]
struct Inner {
    running: Mutex<HashMap<String, Running>>,
    learned: Mutex<HashMap<String, Vec<IpAddr>>>,
    next_id: AtomicU64,
}

/// The learners of one process (or one test): at most one per interface name, and the addresses
/// learned per interface. Cheap to clone (shared).
#[derive(Debug, Clone, Default)]
pub struct Registry {
    inner: Arc<Inner>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide registry.
    pub fn global() -> &'static Registry {
        static GLOBAL: OnceLock<Registry> = OnceLock::new();
        GLOBAL.get_or_init(Registry::new)
    }

    /// Starts learning the address of `ifname` (guest MAC `mac`) on a thread of its own. The capture
    /// is open (or the error returned) before this returns.
    pub fn start(
        &self,
        ifname: &str,
        mac: MacAddr,
        opts: LearnOptions,
        on_learned: impl OnLearned,
    ) -> Result<LearnerHandle, LearnError> {
        check_ifname(ifname)?;
        let listen_dev = opts
            .listen_dev
            .clone()
            .unwrap_or_else(|| ifname.to_string());
        check_ifname(&listen_dev)?;
        match opts.netns.clone() {
            None => {
                let cap = Capture::open(&listen_dev, mac)?;
                self.start_with_capture(ifname, cap, opts, on_learned)
            }
            Some(path) => {
                // Register first, so a second start on the same name fails before any thread.
                let (id, cancel) = self.register(ifname, &opts)?;
                let (tx, rx) = mpsc::channel::<Result<(), LearnError>>();
                let target = Target {
                    ifname: ifname.to_string(),
                    mac,
                    listen_dev: listen_dev.clone(),
                };
                let reg = self.clone();
                let c = Arc::clone(&cancel);
                let spawned = std::thread::Builder::new()
                    .name(format!("learn-{ifname}"))
                    .spawn(move || {
                        let _done = Deregister {
                            reg: reg.clone(),
                            ifname: target.ifname.clone(),
                            id,
                        };
                        let cap = enter_netns(&path)
                            .and_then(|()| Capture::open(&target.listen_dev, mac));
                        let cap = match cap {
                            Ok(cap) => {
                                let _ = tx.send(Ok(()));
                                cap
                            }
                            Err(e) => {
                                // The error goes to `start`, which joins this thread and drops
                                // its result.
                                let ifname = target.ifname.clone();
                                let _ = tx.send(Err(e));
                                return Err(LearnError::NoSuchInterface(ifname));
                            }
                        };
                        learn(&reg, cap, target, opts, c, on_learned)
                    });
                let thread = match spawned {
                    Ok(t) => t,
                    Err(source) => {
                        self.deregister(ifname, id);
                        return Err(LearnError::Spawn {
                            ifname: ifname.to_string(),
                            source,
                        });
                    }
                };
                match rx.recv() {
                    Ok(Ok(())) => Ok(LearnerHandle {
                        ifname: ifname.to_string(),
                        cancel,
                        thread: Some(thread),
                    }),
                    Ok(Err(e)) => {
                        let _ = thread.join();
                        Err(e)
                    }
                    Err(_) => {
                        let _ = thread.join();
                        Err(LearnError::Panicked(ifname.to_string()))
                    }
                }
            }
        }
    }

    /// Starts learning with a capture already open (e.g. made inside a namespace by the caller).
    pub fn start_with_capture(
        &self,
        ifname: &str,
        capture: Capture,
        opts: LearnOptions,
        on_learned: impl OnLearned,
    ) -> Result<LearnerHandle, LearnError> {
        check_ifname(ifname)?;
        let (id, cancel) = self.register(ifname, &opts)?;
        let target = Target {
            ifname: ifname.to_string(),
            mac: capture.mac(),
            listen_dev: capture.dev().to_string(),
        };
        let reg = self.clone();
        let c = Arc::clone(&cancel);
        let spawned = std::thread::Builder::new()
            .name(format!("learn-{ifname}"))
            .spawn(move || {
                let _done = Deregister {
                    reg: reg.clone(),
                    ifname: target.ifname.clone(),
                    id,
                };
                learn(&reg, capture, target, opts, c, on_learned)
            });
        match spawned {
            Ok(thread) => Ok(LearnerHandle {
                ifname: ifname.to_string(),
                cancel,
                thread: Some(thread),
            }),
            Err(source) => {
                self.deregister(ifname, id);
                Err(LearnError::Spawn {
                    ifname: ifname.to_string(),
                    source,
                })
            }
        }
    }

    fn register(
        &self,
        ifname: &str,
        opts: &LearnOptions,
    ) -> Result<(u64, Arc<Cancel>), LearnError> {
        let mut running = lock(&self.inner.running);
        if running.contains_key(ifname) {
            return Err(LearnError::AlreadyLearning(ifname.to_string()));
        }
        let cancel = Arc::new(Cancel::new().map_err(|source| LearnError::Io {
            ifname: ifname.to_string(),
            op: "eventfd",
            source,
        })?);
        let id = self.inner.next_id.fetch_add(1, Ordering::Relaxed);
        running.insert(
            ifname.to_string(),
            Running {
                id,
                cancel: Arc::clone(&cancel),
                vars: opts.filter_vars.clone(),
            },
        );
        Ok((id, cancel))
    }

    fn deregister(&self, ifname: &str, id: u64) {
        let mut running = lock(&self.inner.running);
        if running.get(ifname).is_some_and(|r| r.id == id) {
            running.remove(ifname);
        }
    }

    /// `true` while a learner runs for `ifname`.
    pub fn is_learning(&self, ifname: &str) -> bool {
        lock(&self.inner.running).contains_key(ifname)
    }

    /// Asks the learner of `ifname` to stop; `false` when none runs.
    pub fn cancel(&self, ifname: &str) -> bool {
        match lock(&self.inner.running).get(ifname) {
            Some(r) => {
                r.cancel.fire();
                true
            }
            None => false,
        }
    }

    /// Asks every learner to stop.
    pub fn cancel_all(&self) {
        for r in lock(&self.inner.running).values() {
            r.cancel.fire();
        }
    }

    /// The addresses learned for `ifname` (kept after the learner ends, until [`forget`](Self::forget)).
    pub fn learned(&self, ifname: &str) -> Option<Vec<IpAddr>> {
        lock(&self.inner.learned).get(ifname).cloned()
    }

    /// Drops what was learned for `ifname` (the interface is gone or its guest stopped).
    pub fn forget(&self, ifname: &str) {
        lock(&self.inner.learned).remove(ifname);
    }

    /// Refuses a filter update for `ifname` that would use variables the filter did not use when
    /// learning started, while learning runs; any update is fine otherwise.
    pub fn check_filter_update<'a>(
        &self,
        ifname: &str,
        new_vars: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), LearnError> {
        let running = lock(&self.inner.running);
        let Some(r) = running.get(ifname) else {
            return Ok(());
        };
        let added: BTreeSet<String> = new_vars
            .into_iter()
            .filter(|v| !r.vars.contains(*v))
            .map(str::to_string)
            .collect();
        if added.is_empty() {
            Ok(())
        } else {
            Err(LearnError::UpdateWhileLearning {
                ifname: ifname.to_string(),
                vars: added.into_iter().collect(),
            })
        }
    }

    fn set_learned(&self, ifname: &str, addrs: Vec<IpAddr>) {
        lock(&self.inner.learned).insert(ifname.to_string(), addrs);
    }
}

/// Removes the registry entry when the learner's thread ends, however it ends.
struct Deregister {
    reg: Registry,
    ifname: String,
    id: u64,
}

impl Drop for Deregister {
    fn drop(&mut self) {
        self.reg.deregister(&self.ifname, self.id);
    }
}

/// A running learner. Dropping the handle leaves the learner running (cancel it through the
/// [`Registry`] by name).
#[derive(Debug)]
pub struct LearnerHandle {
    ifname: String,
    cancel: Arc<Cancel>,
    thread: Option<JoinHandle<Result<Outcome, LearnError>>>,
}

impl LearnerHandle {
    pub fn ifname(&self) -> &str {
        &self.ifname
    }

    /// Asks the learner to stop (it notices at once).
    pub fn cancel(&self) {
        self.cancel.fire();
    }

    pub fn is_finished(&self) -> bool {
        self.thread.as_ref().is_none_or(|t| t.is_finished())
    }

    /// Waits for the learner to end.
    pub fn join(mut self) -> Result<Outcome, LearnError> {
        match self.thread.take() {
            Some(t) => t
                .join()
                .unwrap_or_else(|_| Err(LearnError::Panicked(self.ifname.clone()))),
            None => Err(LearnError::Panicked(self.ifname.clone())),
        }
    }
}

fn enter_netns(path: &std::path::Path) -> Result<(), LearnError> {
    let err = |source| LearnError::Netns {
        path: path.to_path_buf(),
        source,
    };
    let f = std::fs::File::open(path).map_err(err)?;
    nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| err(e.into()))
}

/// The learner's loop.
fn learn(
    reg: &Registry,
    cap: Capture,
    target: Target,
    opts: LearnOptions,
    cancel: Arc<Cancel>,
    mut on: impl OnLearned,
) -> Result<Outcome, LearnError> {
    let io_err = |op: &'static str, source: io::Error| LearnError::Io {
        ifname: target.listen_dev.clone(),
        op,
        source,
    };
    let deadline = opts.timeout.map(|t| Instant::now() + t);
    let guest_index = if target.ifname == target.listen_dev {
        Some(cap.ifindex())
    } else {
        cap.index_of(&target.ifname)
            .map_err(|e| io_err("SIOCGIFINDEX", e))?
    };
    let Some(guest_index) = guest_index else {
        return Err(LearnError::NoSuchInterface(target.ifname.clone()));
    };
    let present = |cap: &Capture| -> Result<bool, LearnError> {
        Ok(cap.still_there().map_err(|e| io_err("SIOCGIFNAME", e))?
            && cap
                .name_of(guest_index)
                .map_err(|e| io_err("SIOCGIFNAME", e))?
                .as_deref()
                == Some(target.ifname.as_str()))
    };
    let mut buf = vec![0u8; FRAME_BUF];
    let mut col = Collector::new(opts.matching, opts.max_per_family);
    let mut found = Vec::new();
    let mut next_check = Instant::now() + CHECK_INTERVAL;
    let stop = loop {
        let now = Instant::now();
        if let Some(d) = deadline {
            if now >= d {
                break Stop::TimedOut;
            }
        }
        let mut wait = next_check.saturating_duration_since(now);
        if let Some(d) = deadline {
            wait = wait.min(d.saturating_duration_since(now));
        }
        let mut fds = [
            libc::pollfd {
                fd: cap.raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: cancel.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            },
        ];
        let ms = i32::try_from(wait.as_millis().max(1)).unwrap_or(i32::MAX);
        // SAFETY: `fds` is a valid array of two pollfd for the call.
        let rc = unsafe { libc::poll(fds.as_mut_ptr(), 2, ms) };
        if rc < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EINTR) {
                return Err(io_err("poll", e));
            }
        }
        if cancel.fired() {
            break Stop::Cancelled;
        }
        if fds[0].revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0 {
            // ENETDOWN/ENODEV: down or gone. Gone ends learning; down just waits.
            let _ = cap.take_error();
            if !present(&cap)? {
                break Stop::InterfaceGone;
            }
            next_check = Instant::now() + CHECK_INTERVAL;
        }
        if fds[0].revents & libc::POLLIN != 0 {
            let mut grew = false;
            loop {
                match cap.try_recv(&mut buf) {
                    Ok(Some(n)) => {
                        found.clear();
                        learn_into(
                            &buf[..n.min(buf.len())],
                            target.mac,
                            opts.matching,
                            &mut found,
                        );
                        for l in found.drain(..) {
                            grew |= col.offer(l);
                        }
                        if col.done() {
                            break;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => match e.raw_os_error() {
                        Some(libc::ENETDOWN) | Some(libc::ENODEV) | Some(libc::ENXIO) => break,
                        _ => return Err(io_err("recv", e)),
                    },
                }
            }
            if grew {
                reg.set_learned(&target.ifname, col.addrs());
                if let Err(source) = on.apply(&target, col.learned()) {
                    reg.forget(&target.ifname);
                    let link_down = cap.set_link_down(&target.ifname).err();
                    return Err(LearnError::Apply {
                        ifname: target.ifname.clone(),
                        addrs: col
                            .addrs()
                            .iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join(", "),
                        source,
                        link_down,
                    });
                }
                if col.done() {
                    return Ok(Outcome::Learned(col.into_learned()));
                }
            }
        }
        if Instant::now() >= next_check {
            if !present(&cap)? {
                break Stop::InterfaceGone;
            }
            next_check = Instant::now() + CHECK_INTERVAL;
        }
    };
    if col.learned().is_empty() {
        on.not_learned(&target, stop);
        Ok(Outcome::NotLearned(stop))
    } else {
        Ok(Outcome::Learned(col.into_learned()))
    }
}
