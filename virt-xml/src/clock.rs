//! `<clock>`: the guest clock's offset and its timers, as a typed value ([`Clock`]) with its own
//! parser (from the schema-checked element) and its canonical formatter.
//!
//! As libvirt does, an integer `adjustment` on a `utc` or `localtime` clock makes it a `variable`
//! clock with that basis.

use crate::domain::{attr_parse, invalid_value, num_attr, str_enum};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::values::ValueError;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `basis` of a variable clock.
    ClockBasis { Utc = "utc", Localtime = "localtime" }
);

str_enum!(
    /// `<timer name>`.
    TimerName {
        Platform = "platform", Pit = "pit", Rtc = "rtc", Hpet = "hpet", Tsc = "tsc",
        Kvmclock = "kvmclock", Hypervclock = "hypervclock", Armvtimer = "armvtimer",
    }
);

str_enum!(
    /// `<timer track>`.
    TimerTrack { Boot = "boot", Guest = "guest", Wall = "wall", Realtime = "realtime" }
);

str_enum!(
    /// `<timer tickpolicy>`.
    TickPolicy { Delay = "delay", Catchup = "catchup", Merge = "merge", Discard = "discard" }
);

str_enum!(
    /// `<timer mode>` (tsc).
    TimerMode {
        Auto = "auto", Native = "native", Emulate = "emulate", Paravirt = "paravirt",
        Smpsafe = "smpsafe",
    }
);

/// `<clock offset>` and the attributes that go with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClockOffset {
    /// `utc`; `reset`: `adjustment='reset'`.
    Utc { reset: bool },
    /// `localtime`; `reset`: `adjustment='reset'`.
    Localtime { reset: bool },
    /// `timezone` with the zone name.
    Timezone(Option<String>),
    /// `variable`: seconds from the basis.
    Variable { adjustment: i64, basis: ClockBasis },
    /// `absolute`: a fixed start time (seconds since the epoch).
    Absolute { start: u64 },
}

/// `<timer><catchup>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Catchup {
    pub threshold: Option<u64>,
    pub slew: Option<u64>,
    pub limit: Option<u64>,
}

/// `<timer>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timer {
    pub name: TimerName,
    pub present: Option<bool>,
    pub tickpolicy: Option<TickPolicy>,
    pub track: Option<TimerTrack>,
    /// Hz (tsc).
    pub frequency: Option<u64>,
    pub mode: Option<TimerMode>,
    pub catchup: Option<Catchup>,
}

impl Timer {
    /// A timer with nothing but its name.
    pub fn new(name: TimerName) -> Self {
        Timer {
            name,
            present: None,
            tickpolicy: None,
            track: None,
            frequency: None,
            mode: None,
            catchup: None,
        }
    }
}

/// `<clock>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clock {
    pub offset: ClockOffset,
    pub timers: Vec<Timer>,
}

impl Clock {
    /// Parses a schema-checked `<clock>` element.
    pub fn from_element(el: &Element) -> Result<Clock, XmlError> {
        let bad = |attr: &str, v: &str, reason: &str| {
            invalid_value(
                el,
                attr,
                ValueError {
                    kind: "clock",
                    value: v.to_string(),
                    reason: reason.to_string(),
                },
            )
        };
        let offset_name = el.attr("offset").unwrap_or("utc");
        let adjustment = el.attr("adjustment");
        let offset = match offset_name {
            "utc" | "localtime" => {
                let basis = if offset_name == "utc" {
                    ClockBasis::Utc
                } else {
                    ClockBasis::Localtime
                };
                match adjustment.map(str::trim) {
                    None => reset_offset(basis, false),
                    Some("reset") => reset_offset(basis, true),
                    Some(a) => ClockOffset::Variable {
                        adjustment: a
                            .parse()
                            .map_err(|_| bad("adjustment", a, "expected 'reset' or seconds"))?,
                        basis,
                    },
                }
            }
            "timezone" => ClockOffset::Timezone(el.attr("timezone").map(str::to_string)),
            "variable" => ClockOffset::Variable {
                adjustment: match adjustment {
                    None => 0,
                    Some(a) => a
                        .trim()
                        .parse()
                        .map_err(|_| bad("adjustment", a, "expected seconds"))?,
                },
                basis: attr_parse(el, "basis")?.unwrap_or(ClockBasis::Utc),
            },
            "absolute" => ClockOffset::Absolute {
                start: num_attr(el, "start")?.unwrap_or(0),
            },
            other => {
                return Err(bad(
                    "offset",
                    other,
                    "expected utc, localtime, timezone, variable or absolute",
                ))
            }
        };
        let mut timers = Vec::new();
        for t in el.children_named("timer") {
            let name = attr_parse(t, "name")?.ok_or_else(|| XmlError::Missing {
                pos: t.pos,
                element: "timer".into(),
                what: "attribute 'name'".into(),
            })?;
            let catchup = match t.child("catchup") {
                None => None,
                Some(c) => Some(Catchup {
                    threshold: num_attr(c, "threshold")?,
                    slew: num_attr(c, "slew")?,
                    limit: num_attr(c, "limit")?,
                }),
            }
            .filter(|c| *c != Catchup::default());
            timers.push(Timer {
                name,
                present: attr_parse::<YesNo>(t, "present")?.map(bool::from),
                tickpolicy: attr_parse(t, "tickpolicy")?,
                track: attr_parse(t, "track")?,
                frequency: num_attr(t, "frequency")?,
                mode: attr_parse(t, "mode")?,
                catchup,
            });
        }
        Ok(Clock { offset, timers })
    }

    /// Writes `<clock>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let mut tag = Tag::new("clock");
        match &self.offset {
            ClockOffset::Utc { reset } | ClockOffset::Localtime { reset } => {
                let name = if matches!(self.offset, ClockOffset::Utc { .. }) {
                    "utc"
                } else {
                    "localtime"
                };
                tag.push("offset", name);
                if *reset {
                    tag.push("adjustment", "reset");
                }
            }
            ClockOffset::Timezone(tz) => {
                tag.push("offset", "timezone");
                if let Some(tz) = tz {
                    tag.push("timezone", tz);
                }
            }
            ClockOffset::Variable { adjustment, basis } => {
                tag.push("offset", "variable");
                tag.push("adjustment", adjustment);
                tag.push("basis", basis);
            }
            ClockOffset::Absolute { start } => {
                tag.push("offset", "absolute");
                tag.push("start", start);
            }
        }
        w.element(tag, |w| {
            for t in &self.timers {
                let tag = Tag::new("timer")
                    .attr("name", t.name)
                    .opt_attr("present", t.present.map(YesNo::from))
                    .opt_attr("tickpolicy", t.tickpolicy)
                    .opt_attr("track", t.track)
                    .opt_attr("frequency", t.frequency)
                    .opt_attr("mode", t.mode);
                match t.catchup.filter(|c| *c != Catchup::default()) {
                    Some(c) => w.element(tag, |w| {
                        w.empty(
                            Tag::new("catchup")
                                .opt_attr("threshold", c.threshold)
                                .opt_attr("slew", c.slew)
                                .opt_attr("limit", c.limit),
                        )
                    }),
                    None => w.empty(tag),
                }
            }
        });
    }
}

fn reset_offset(basis: ClockBasis, reset: bool) -> ClockOffset {
    match basis {
        ClockBasis::Utc => ClockOffset::Utc { reset },
        ClockBasis::Localtime => ClockOffset::Localtime { reset },
    }
}
