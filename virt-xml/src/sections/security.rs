//! Security sections: `<seclabel>`, `<keywrap>` and `<launchSecurity>`.

use super::{bad_attr, child, child_text, children, req_attr, yes_no, yn};
use crate::domain::{attr_parse, invalid_text, str_enum, OnOff};
use crate::error::XmlError;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<seclabel type>`.
    SeclabelType { Dynamic = "dynamic", Static = "static", None = "none" }
);

/// `<seclabel>`: the guest's label for one security driver (a domain may have several).
///
/// ```
/// use virt_xml::sections::{Seclabel, SeclabelType};
/// let s = Seclabel {
///     kind: Some(SeclabelType::Static),
///     model: Some("selinux".into()),
///     relabel: Some(false),
///     label: Some("system_u:system_r:svirt_t:s0:c1,c2".into()),
///     imagelabel: None,
///     baselabel: None,
/// };
/// let mut w = virt_xml::writer::Writer::new();
/// s.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<seclabel type='static' model='selinux' relabel='no'>\n  <label>system_u:system_r:svirt_t:s0:c1,c2</label>\n</seclabel>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Seclabel {
    /// `type` (libvirt's default: dynamic).
    pub kind: Option<SeclabelType>,
    /// Security driver, e.g. `selinux`, `apparmor`, `dac`, `none`.
    pub model: Option<String>,
    pub relabel: Option<bool>,
    pub label: Option<String>,
    pub imagelabel: Option<String>,
    pub baselabel: Option<String>,
}

impl Seclabel {
    /// Parses `<seclabel>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        Ok(Seclabel {
            kind: attr_parse(el, "type")?,
            model: el.attr("model").map(str::to_string),
            relabel: yes_no(el, "relabel")?,
            label: child_text(el, "label"),
            imagelabel: child_text(el, "imagelabel"),
            baselabel: child_text(el, "baselabel"),
        })
    }

    /// Writes `<seclabel>`.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("seclabel")
            .opt_attr("type", self.kind)
            .opt_attr("model", self.model.as_deref())
            .opt_attr("relabel", self.relabel.map(yn));
        w.element(tag, |w| {
            for (name, v) in [
                ("label", &self.label),
                ("imagelabel", &self.imagelabel),
                ("baselabel", &self.baselabel),
            ] {
                if let Some(v) = v {
                    w.leaf(Tag::new(name), v);
                }
            }
        });
    }
}

str_enum!(
    /// `<keywrap><cipher name>`.
    Cipher { Aes = "aes", Dea = "dea" }
);

/// `<keywrap>`: s390 key wrapping per cipher (`None`: the hypervisor's default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Keywrap {
    pub aes: Option<OnOff>,
    pub dea: Option<OnOff>,
}

impl Keywrap {
    /// Parses `<keywrap>`; a cipher named twice is an error, as in libvirt.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        let mut k = Keywrap::default();
        for c in children(el, "cipher") {
            let name: Cipher = req_attr(c, "name")?;
            let state: OnOff = req_attr(c, "state")?;
            let slot = match name {
                Cipher::Aes => &mut k.aes,
                Cipher::Dea => &mut k.dea,
            };
            if slot.is_some() {
                return Err(XmlError::Invalid {
                    pos: c.pos,
                    element: c.name.clone(),
                    message: format!("a domain can have only one '{name}' cipher"),
                });
            }
            *slot = Some(state);
        }
        Ok(k)
    }

    /// Writes `<keywrap>` (aes, then dea; nothing when neither is set).
    pub fn write(&self, w: &mut Writer) {
        w.element(Tag::new("keywrap"), |w| {
            for (name, v) in [(Cipher::Aes, self.aes), (Cipher::Dea, self.dea)] {
                if let Some(v) = v {
                    w.empty(Tag::new("cipher").attr("name", name).attr("state", v));
                }
            }
        });
    }
}

/// AMD SEV parameters of `<launchSecurity type='sev'>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Sev {
    /// `kernelHashes`: measure the kernel, initrd and command line.
    pub kernel_hashes: Option<bool>,
    pub cbitpos: Option<u32>,
    pub reduced_phys_bits: Option<u32>,
    /// Guest policy bits (written as `0x%04x`).
    pub policy: u32,
    /// `<handle>`.
    pub handle: Option<u32>,
    /// Guest owner's base64 Diffie-Hellman certificate.
    pub dh_cert: Option<String>,
    /// Base64 session blob.
    pub session: Option<String>,
}

/// `<launchSecurity>`: confidential-guest technology.
///
/// ```
/// use virt_xml::sections::{LaunchSecurity, Sev};
/// let l = LaunchSecurity::Sev(Sev { cbitpos: Some(47), reduced_phys_bits: Some(1), policy: 1, ..Default::default() });
/// let mut w = virt_xml::writer::Writer::new();
/// l.write(&mut w);
/// assert_eq!(
///     w.finish(),
///     "<launchSecurity type='sev'>\n  <cbitpos>47</cbitpos>\n  <reducedPhysBits>1</reducedPhysBits>\n  <policy>0x0001</policy>\n</launchSecurity>\n"
/// );
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LaunchSecurity {
    Sev(Sev),
    /// IBM Secure Execution (`s390-pv`).
    S390Pv,
}

impl LaunchSecurity {
    /// Parses `<launchSecurity>`.
    pub fn from_element(el: &Element) -> Result<Self, XmlError> {
        match el.attr("type") {
            Some("s390-pv") => Ok(LaunchSecurity::S390Pv),
            Some("sev") => {
                let num = |name: &str| -> Result<Option<u32>, XmlError> {
                    super::child_value(el, name, "number")
                };
                let policy =
                    child(el, "policy").ok_or_else(|| super::missing_child(el, "policy"))?;
                let text = policy.text();
                let t = text.trim();
                let hex = t.strip_prefix("0x").unwrap_or(t);
                let policy = u32::from_str_radix(hex, 16).map_err(|_| {
                    invalid_text(
                        policy,
                        ValueError {
                            kind: "SEV policy",
                            value: t.to_string(),
                            reason: "not a hexadecimal number".into(),
                        },
                    )
                })?;
                Ok(LaunchSecurity::Sev(Sev {
                    kernel_hashes: yes_no(el, "kernelHashes")?,
                    cbitpos: num("cbitpos")?,
                    reduced_phys_bits: num("reducedPhysBits")?,
                    policy,
                    handle: num("handle")?,
                    dh_cert: child_text(el, "dhCert"),
                    session: child_text(el, "session"),
                }))
            }
            _ => Err(bad_attr(
                el,
                "type",
                "launch security type",
                "expected sev or s390-pv",
            )),
        }
    }

    /// Writes `<launchSecurity>`.
    pub fn write(&self, w: &mut Writer) {
        match self {
            LaunchSecurity::S390Pv => w.empty(Tag::new("launchSecurity").attr("type", "s390-pv")),
            LaunchSecurity::Sev(s) => {
                let tag = Tag::new("launchSecurity")
                    .attr("type", "sev")
                    .opt_attr("kernelHashes", s.kernel_hashes.map(yn));
                w.element(tag, |w| {
                    if let Some(v) = s.cbitpos {
                        w.leaf(Tag::new("cbitpos"), &v.to_string());
                    }
                    if let Some(v) = s.reduced_phys_bits {
                        w.leaf(Tag::new("reducedPhysBits"), &v.to_string());
                    }
                    w.leaf(Tag::new("policy"), &format!("0x{:04x}", s.policy));
                    if let Some(v) = s.handle {
                        w.leaf(Tag::new("handle"), &v.to_string());
                    }
                    if let Some(v) = &s.dh_cert {
                        w.leaf(Tag::new("dhCert"), v);
                    }
                    if let Some(v) = &s.session {
                        w.leaf(Tag::new("session"), v);
                    }
                });
            }
        }
    }
}
