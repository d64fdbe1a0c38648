use std::fmt;

/// The hypervisor type, as the `virt=` field names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VirtType {
    Kvm,
    Qemu,
    Lxc,
    Test,
}

impl VirtType {
    pub fn as_str(self) -> &'static str {
        match self {
            VirtType::Kvm => "kvm",
            VirtType::Qemu => "qemu",
            VirtType::Lxc => "lxc",
            VirtType::Test => "test",
        }
    }
}

impl fmt::Display for VirtType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who a record is about: `virt=`, `vm=` and `uuid=`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VmIdentity {
    pub virt: VirtType,
    pub name: String,
    /// The domain UUID's 16 bytes (written as the canonical lowercase hyphenated form).
    pub uuid: [u8; 16],
}

impl VmIdentity {
    pub fn new(virt: VirtType, name: impl Into<String>, uuid: [u8; 16]) -> Self {
        Self {
            virt,
            name: name.into(),
            uuid,
        }
    }

    /// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`.
    pub fn uuid_string(&self) -> String {
        let mut s = String::with_capacity(36);
        self.push_uuid(&mut s);
        s
    }

    /// Appends the canonical lowercase hyphenated UUID to `out`.
    pub fn push_uuid(&self, out: &mut String) {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        for (i, b) in self.uuid.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                out.push('-');
            }
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 0x0f)] as char);
        }
    }
}
