use std::fmt;

/// The three record types libvirt writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecordType {
    /// AUDIT_VIRT_CONTROL (2500): start, stop, ...
    VirtControl,
    /// AUDIT_VIRT_RESOURCE (2501): a host resource given to or taken from a guest.
    VirtResource,
    /// AUDIT_VIRT_MACHINE_ID (2502): the guest's security labels.
    VirtMachineId,
}

impl RecordType {
    /// The kernel's message type number.
    pub fn number(self) -> u16 {
        match self {
            RecordType::VirtControl => 2500,
            RecordType::VirtResource => 2501,
            RecordType::VirtMachineId => 2502,
        }
    }

    /// The name `ausearch -m` takes and logs show after `type=`.
    pub fn name(self) -> &'static str {
        match self {
            RecordType::VirtControl => "VIRT_CONTROL",
            RecordType::VirtResource => "VIRT_RESOURCE",
            RecordType::VirtMachineId => "VIRT_MACHINE_ID",
        }
    }
}

/// Whether the action a record describes succeeded (`res=success`) or failed (`res=failed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Success,
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failed => "failed",
        }
    }
}

impl From<bool> for Outcome {
    fn from(ok: bool) -> Self {
        if ok {
            Outcome::Success
        } else {
            Outcome::Failed
        }
    }
}

/// A device number; written as `rdev=MA:MI`, each part as at least two uppercase hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    pub fn new(major: u32, minor: u32) -> Self {
        Self { major, minor }
    }

    /// From a `st_rdev` value.
    pub fn from_rdev(rdev: u64) -> Self {
        // SAFETY-free decoding of the glibc dev_t layout, the same as major()/minor().
        let major = ((rdev >> 32) & 0xffff_f000) | ((rdev >> 8) & 0x0000_0fff);
        let minor = ((rdev >> 12) & 0xffff_ff00) | (rdev & 0x0000_00ff);
        Self {
            major: major as u32,
            minor: minor as u32,
        }
    }
}

impl fmt::Display for DevNum {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X}:{:02X}", self.major, self.minor)
    }
}

/// One audit record: its type, the message body libvirt would pass to `audit_log_user_message`, and
/// the outcome (which becomes `res=`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub rtype: RecordType,
    pub body: String,
    pub outcome: Outcome,
}

impl Record {
    pub fn new(rtype: RecordType, body: String, outcome: impl Into<Outcome>) -> Self {
        Self {
            rtype,
            body,
            outcome: outcome.into(),
        }
    }

    /// `BODY res=success|failed`: the record's text less the fields libaudit adds about the sending
    /// process (`exe`, `hostname`, `addr`, `terminal`). Convenient for exact comparisons in tests.
    pub fn summary(&self) -> String {
        format!("{} res={}", self.body, self.outcome.as_str())
    }
}
