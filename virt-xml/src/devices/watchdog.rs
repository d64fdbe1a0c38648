//! `<watchdog>`: an emulated hardware watchdog, as a typed value ([`Watchdog`]).

use crate::devices::controller::required_attr;
use crate::devices::info::DeviceInfo;
use crate::domain::{attr_parse, str_enum};
use crate::error::XmlError;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<watchdog model>`.
    WatchdogModel { I6300esb = "i6300esb", Ib700 = "ib700", Diag288 = "diag288" }
);

str_enum!(
    /// `<watchdog action>`: what happens when the watchdog fires.
    WatchdogAction {
        Reset = "reset", Shutdown = "shutdown", Poweroff = "poweroff", Pause = "pause",
        None = "none", Dump = "dump", InjectNmi = "inject-nmi",
    }
);

/// `<watchdog>`.
///
/// ```
/// use virt_xml::devices::watchdog::{Watchdog, WatchdogAction, WatchdogModel};
/// use virt_xml::writer::Writer;
/// let wd = Watchdog {
///     model: WatchdogModel::I6300esb,
///     action: Some(WatchdogAction::Poweroff),
///     info: Default::default(),
/// };
/// let mut w = Writer::new();
/// wd.write(&mut w);
/// assert_eq!(w.finish(), "<watchdog model='i6300esb' action='poweroff'/>\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watchdog {
    pub model: WatchdogModel,
    pub action: Option<WatchdogAction>,
    /// Alias, ACPI index, address.
    pub info: DeviceInfo,
}

impl Watchdog {
    /// Parses a schema-checked `<watchdog>` element.
    pub fn from_element(el: &Element) -> Result<Watchdog, XmlError> {
        Ok(Watchdog {
            model: required_attr(el, "model")?,
            action: attr_parse(el, "action")?,
            info: DeviceInfo::from_element(el)?,
        })
    }

    /// Writes `<watchdog>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("watchdog")
            .attr("model", self.model)
            .opt_attr("action", self.action);
        w.element(tag, |w| self.info.write(w));
    }
}
