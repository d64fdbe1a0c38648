//! `<graphics>`: a guest display (VNC, SPICE, SDL, RDP, desktop, EGL headless, D-Bus) as a typed
//! value ([`Graphics`]), read from its schema-checked, normalised element and written in libvirt
//! 9.0's canonical form.
//!
//! libvirt keeps a display's listen addresses as `<listen>` children and mirrors the first one in
//! the `listen` attribute (VNC also mirrors a socket listen in the `socket` attribute). The value
//! holds the `<listen>` list; the attributes are written from it as libvirt does
//! ([`Graphics::listen_attr`], [`Graphics::socket_attr`]), and the `listen`/`socket` fields keep
//! an attribute only where the element has one the list does not imply (e.g. a SPICE `listen`
//! attribute without `<listen>` children).
//!
//! ```
//! use virt_xml::devices::graphics::{Graphics, GraphicsType, Listen};
//! use virt_xml::writer::Writer;
//! let mut g = Graphics::new(GraphicsType::Vnc);
//! g.port = Some(-1);
//! g.autoport = Some(true);
//! // The listen attribute follows the first <listen>.
//! g.listens.push(Listen::Address(Some("127.0.0.1".into())));
//! let mut w = Writer::new();
//! g.write(&mut w);
//! assert_eq!(
//!     w.finish(),
//!     "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n  \
//!      <listen type='address' address='127.0.0.1'/>\n</graphics>\n"
//! );
//! ```

use crate::domain::{attr_parse, num_attr, str_enum, OnOff};
use crate::error::XmlError;
use crate::os::YesNo;
use crate::tree::Element;
use crate::writer::{Tag, Writer};

str_enum!(
    /// `<graphics type>`.
    GraphicsType {
        Sdl = "sdl", Vnc = "vnc", Rdp = "rdp", Desktop = "desktop", Spice = "spice",
        EglHeadless = "egl-headless", Dbus = "dbus",
    }
);

str_enum!(
    /// VNC `sharePolicy`.
    SharePolicy {
        AllowExclusive = "allow-exclusive", ForceShared = "force-shared", Ignore = "ignore",
    }
);

str_enum!(
    /// `connected`: what happens to connected clients when the password changes.
    Connected { Fail = "fail", Disconnect = "disconnect", Keep = "keep" }
);

str_enum!(
    /// SPICE `defaultMode` and `<channel mode>`.
    ChannelMode { Any = "any", Secure = "secure", Insecure = "insecure" }
);

str_enum!(
    /// SPICE `<channel name>`, in the order libvirt writes channels.
    ChannelName {
        Main = "main", Display = "display", Inputs = "inputs", Cursor = "cursor",
        Playback = "playback", Record = "record", Smartcard = "smartcard", Usbredir = "usbredir",
    }
);

str_enum!(
    /// SPICE `<image compression>`.
    ImageCompression {
        AutoGlz = "auto_glz", AutoLz = "auto_lz", Quic = "quic", Glz = "glz", Lz = "lz",
        Off = "off",
    }
);

str_enum!(
    /// SPICE `<jpeg compression>` and `<zlib compression>`.
    WanCompression { Auto = "auto", Never = "never", Always = "always" }
);

str_enum!(
    /// SPICE `<streaming mode>`.
    StreamingMode { Filter = "filter", All = "all", Off = "off" }
);

str_enum!(
    /// SPICE `<mouse mode>`.
    MouseMode { Server = "server", Client = "client" }
);

/// A `<listen>` child.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listen {
    /// `type='address'` with its address (none: the host default).
    Address(Option<String>),
    /// `type='network'`: the address of a libvirt network (`address`: as resolved when running).
    Network {
        network: String,
        address: Option<String>,
    },
    /// `type='socket'` with its path (none: libvirt picks one).
    Socket(Option<String>),
    /// `type='none'`: no listening at all.
    None,
}

/// A SPICE `<channel name mode/>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpiceChannel {
    pub name: ChannelName,
    pub mode: ChannelMode,
}

/// `<gl enable rendernode/>`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Gl {
    pub enable: Option<bool>,
    pub rendernode: Option<String>,
}

/// `<graphics>`. Which attributes a type may carry is the schema's business; the value holds
/// what the element has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Graphics {
    pub graphics_type: GraphicsType,
    /// VNC: the `socket` attribute, only where it is not what a first `<listen type='socket'>`
    /// implies (libvirt mirrors that listen's path here; the writer fills it in).
    pub socket: Option<String>,
    /// SDL, desktop: the X display.
    pub display: Option<String>,
    /// SDL: the X authority file.
    pub xauth: Option<String>,
    /// SDL, desktop: full screen.
    pub fullscreen: Option<bool>,
    /// VNC, SPICE, RDP: the port (`-1`: chosen automatically).
    pub port: Option<i32>,
    /// SPICE: the TLS port.
    pub tls_port: Option<i32>,
    pub autoport: Option<bool>,
    /// VNC: the WebSocket port.
    pub websocket: Option<i32>,
    /// RDP.
    pub replace_user: Option<bool>,
    /// RDP.
    pub multi_user: Option<bool>,
    /// The `listen` attribute, only where it is not what the first `<listen>` implies (libvirt
    /// mirrors the first address listen here; the writer fills it in).
    pub listen: Option<String>,
    pub keymap: Option<String>,
    pub share_policy: Option<SharePolicy>,
    pub power_control: Option<bool>,
    pub default_mode: Option<ChannelMode>,
    pub passwd: Option<String>,
    pub passwd_valid_to: Option<String>,
    pub connected: Option<Connected>,
    /// D-Bus: the bus address.
    pub address: Option<String>,
    /// D-Bus: peer-to-peer.
    pub p2p: Option<bool>,
    pub listens: Vec<Listen>,
    /// SPICE channels (written in libvirt's channel order).
    pub channels: Vec<SpiceChannel>,
    pub image_compression: Option<ImageCompression>,
    pub jpeg_compression: Option<WanCompression>,
    pub zlib_compression: Option<WanCompression>,
    pub playback_compression: Option<OnOff>,
    pub streaming_mode: Option<StreamingMode>,
    /// SPICE `<clipboard copypaste>`.
    pub clipboard_copypaste: Option<bool>,
    pub mouse_mode: Option<MouseMode>,
    /// SPICE `<filetransfer enable>`.
    pub filetransfer_enable: Option<bool>,
    pub gl: Option<Gl>,
    /// `<audio id>`: the audio backend the display carries sound to.
    pub audio_id: Option<u8>,
}

fn yes_no(el: &Element, name: &str) -> Result<Option<bool>, XmlError> {
    Ok(attr_parse::<YesNo>(el, name)?.map(bool::from))
}

fn yn(v: Option<bool>) -> Option<YesNo> {
    v.map(YesNo::from)
}

fn required<T: std::str::FromStr<Err = crate::values::ValueError>>(
    el: &Element,
    name: &str,
) -> Result<T, XmlError> {
    attr_parse(el, name)?.ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    })
}

impl Listen {
    fn from_element(el: &Element) -> Result<Listen, XmlError> {
        let text = |n: &str| el.attr(n).map(str::to_string);
        let kind = el.attr("type").unwrap_or("address");
        Ok(match kind {
            "address" => Listen::Address(text("address")),
            "network" => Listen::Network {
                network: text("network").ok_or_else(|| XmlError::Missing {
                    pos: el.pos,
                    element: "listen".into(),
                    what: "attribute 'network'".into(),
                })?,
                address: text("address"),
            },
            "socket" => Listen::Socket(text("socket")),
            "none" => Listen::None,
            other => {
                return Err(crate::domain::invalid_value(
                    el,
                    "type",
                    crate::values::ValueError {
                        kind: "listen",
                        value: other.to_string(),
                        reason: "expected address, network, socket or none".into(),
                    },
                ))
            }
        })
    }

    fn write(&self, w: &mut Writer) {
        let tag = Tag::new("listen");
        w.empty(match self {
            Listen::Address(a) => tag
                .attr("type", "address")
                .opt_attr("address", a.as_deref()),
            Listen::Network { network, address } => tag
                .attr("type", "network")
                .opt_attr("address", address.as_deref())
                .attr("network", network),
            Listen::Socket(s) => tag.attr("type", "socket").opt_attr("socket", s.as_deref()),
            Listen::None => tag.attr("type", "none"),
        });
    }
}

impl Graphics {
    /// A display of the given type with nothing else set.
    pub fn new(graphics_type: GraphicsType) -> Self {
        Graphics {
            graphics_type,
            socket: None,
            display: None,
            xauth: None,
            fullscreen: None,
            port: None,
            tls_port: None,
            autoport: None,
            websocket: None,
            replace_user: None,
            multi_user: None,
            listen: None,
            keymap: None,
            share_policy: None,
            power_control: None,
            default_mode: None,
            passwd: None,
            passwd_valid_to: None,
            connected: None,
            address: None,
            p2p: None,
            listens: Vec::new(),
            channels: Vec::new(),
            image_compression: None,
            jpeg_compression: None,
            zlib_compression: None,
            playback_compression: None,
            streaming_mode: None,
            clipboard_copypaste: None,
            mouse_mode: None,
            filetransfer_enable: None,
            gl: None,
            audio_id: None,
        }
    }

    /// The `listen` attribute as libvirt writes it: [`Graphics::listen`] when set, else the
    /// address of the first `<listen>` when that is an address (or a resolved network) listen of
    /// a VNC, SPICE or RDP display.
    pub fn listen_attr(&self) -> Option<&str> {
        if let Some(l) = &self.listen {
            return Some(l);
        }
        if !matches!(
            self.graphics_type,
            GraphicsType::Vnc | GraphicsType::Spice | GraphicsType::Rdp
        ) {
            return None;
        }
        match self.listens.first()? {
            Listen::Address(a) | Listen::Network { address: a, .. } => a.as_deref(),
            Listen::Socket(_) | Listen::None => None,
        }
    }

    /// The `socket` attribute as libvirt writes it: [`Graphics::socket`] when set, else the path
    /// of a VNC display's first `<listen>` when that is a socket listen.
    pub fn socket_attr(&self) -> Option<&str> {
        if let Some(s) = &self.socket {
            return Some(s);
        }
        match (self.graphics_type, self.listens.first()?) {
            (GraphicsType::Vnc, Listen::Socket(s)) => s.as_deref(),
            _ => None,
        }
    }

    /// Parses a schema-checked, normalised `<graphics>` element.
    pub fn from_element(el: &Element) -> Result<Graphics, XmlError> {
        let text = |n: &str| el.attr(n).map(str::to_string);
        let mut g = Graphics::new(required(el, "type")?);
        g.socket = text("socket");
        g.display = text("display");
        g.xauth = text("xauth");
        g.fullscreen = yes_no(el, "fullscreen")?;
        g.port = num_attr(el, "port")?;
        g.tls_port = num_attr(el, "tlsPort")?;
        g.autoport = yes_no(el, "autoport")?;
        g.websocket = num_attr(el, "websocket")?;
        g.replace_user = yes_no(el, "replaceUser")?;
        g.multi_user = yes_no(el, "multiUser")?;
        g.listen = text("listen");
        g.keymap = text("keymap");
        g.share_policy = attr_parse(el, "sharePolicy")?;
        g.power_control = yes_no(el, "powerControl")?;
        g.default_mode = attr_parse(el, "defaultMode")?;
        g.passwd = text("passwd");
        g.passwd_valid_to = text("passwdValidTo");
        g.connected = attr_parse(el, "connected")?;
        g.address = text("address");
        g.p2p = yes_no(el, "p2p")?;
        for c in el.elements() {
            match c.name.as_str() {
                "listen" => g.listens.push(Listen::from_element(c)?),
                "channel" => g.channels.push(SpiceChannel {
                    name: required(c, "name")?,
                    mode: required(c, "mode")?,
                }),
                "image" => g.image_compression = attr_parse(c, "compression")?,
                "jpeg" => g.jpeg_compression = attr_parse(c, "compression")?,
                "zlib" => g.zlib_compression = attr_parse(c, "compression")?,
                "playback" => g.playback_compression = attr_parse(c, "compression")?,
                "streaming" => g.streaming_mode = attr_parse(c, "mode")?,
                "clipboard" => g.clipboard_copypaste = yes_no(c, "copypaste")?,
                "mouse" => g.mouse_mode = attr_parse(c, "mode")?,
                "filetransfer" => g.filetransfer_enable = yes_no(c, "enable")?,
                "gl" => {
                    g.gl = Some(Gl {
                        enable: yes_no(c, "enable")?,
                        rendernode: c.attr("rendernode").map(str::to_string),
                    })
                }
                "audio" => g.audio_id = Some(required_num(c, "id")?),
                _ => {}
            }
        }
        // Attributes that only mirror the first listen are implied by it.
        let listen = g.listen.take();
        if listen.as_deref() != g.listen_attr() {
            g.listen = listen;
        }
        let socket = g.socket.take();
        if socket.as_deref() != g.socket_attr() {
            g.socket = socket;
        }
        Ok(g)
    }

    /// Writes `<graphics>` as libvirt 9.0 does.
    pub fn write(&self, w: &mut Writer) {
        let tag = Tag::new("graphics")
            .attr("type", self.graphics_type)
            .opt_attr("socket", self.socket_attr())
            .opt_attr("display", self.display.as_deref())
            .opt_attr("xauth", self.xauth.as_deref())
            .opt_attr("fullscreen", yn(self.fullscreen))
            .opt_attr("port", self.port)
            .opt_attr("tlsPort", self.tls_port)
            .opt_attr("autoport", yn(self.autoport))
            .opt_attr("websocket", self.websocket)
            .opt_attr("replaceUser", yn(self.replace_user))
            .opt_attr("multiUser", yn(self.multi_user))
            .opt_attr("listen", self.listen_attr())
            .opt_attr("keymap", self.keymap.as_deref())
            .opt_attr("sharePolicy", self.share_policy)
            .opt_attr("powerControl", yn(self.power_control))
            .opt_attr("defaultMode", self.default_mode)
            .opt_attr("passwd", self.passwd.as_deref())
            .opt_attr("passwdValidTo", self.passwd_valid_to.as_deref())
            .opt_attr("connected", self.connected)
            .opt_attr("address", self.address.as_deref())
            .opt_attr("p2p", yn(self.p2p));
        w.element(tag, |w| {
            for l in &self.listens {
                l.write(w);
            }
            let mut channels = self.channels.clone();
            channels.sort_by_key(|c| ChannelName::ALL.iter().position(|n| *n == c.name));
            for c in &channels {
                w.empty(
                    Tag::new("channel")
                        .attr("name", c.name)
                        .attr("mode", c.mode),
                );
            }
            let one = |w: &mut Writer, name: &str, attr: &str, v: Option<String>| {
                if let Some(v) = v {
                    w.empty(Tag::new(name).attr(attr, v));
                }
            };
            let s = |v: Option<&str>| v.map(str::to_string);
            one(
                w,
                "image",
                "compression",
                s(self.image_compression.map(|v| v.as_str())),
            );
            one(
                w,
                "jpeg",
                "compression",
                s(self.jpeg_compression.map(|v| v.as_str())),
            );
            one(
                w,
                "zlib",
                "compression",
                s(self.zlib_compression.map(|v| v.as_str())),
            );
            let playback = self.playback_compression.map(|v| v.as_str());
            one(w, "playback", "compression", s(playback));
            one(
                w,
                "streaming",
                "mode",
                s(self.streaming_mode.map(|v| v.as_str())),
            );
            let copypaste = yn(self.clipboard_copypaste).map(|v| v.as_str());
            one(w, "clipboard", "copypaste", s(copypaste));
            one(w, "mouse", "mode", s(self.mouse_mode.map(|v| v.as_str())));
            let transfer = yn(self.filetransfer_enable).map(|v| v.as_str());
            one(w, "filetransfer", "enable", s(transfer));
            if let Some(gl) = &self.gl {
                w.empty(
                    Tag::new("gl")
                        .opt_attr("enable", yn(gl.enable))
                        .opt_attr("rendernode", gl.rendernode.as_deref()),
                );
            }
            if let Some(id) = self.audio_id {
                w.empty(Tag::new("audio").attr("id", id));
            }
        });
    }
}

fn required_num<T: std::str::FromStr>(el: &Element, name: &str) -> Result<T, XmlError> {
    num_attr(el, name)?.ok_or_else(|| XmlError::Missing {
        pos: el.pos,
        element: el.name.clone(),
        what: format!("attribute '{name}'"),
    })
}
