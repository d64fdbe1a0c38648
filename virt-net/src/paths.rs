//! Where the host's device nodes are; tests point these at nodes of their own.

use std::path::PathBuf;

/// The device nodes opened for guest NICs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DevicePaths {
    /// The tun/tap clone device, `/dev/net/tun`.
    pub tun: PathBuf,
    /// The vhost-net device, `/dev/vhost-net`.
    pub vhost_net: PathBuf,
    /// The prefix of a macvtap's character device, to which its ifindex is appended: `/dev/tap`.
    pub macvtap_prefix: String,
}

impl Default for DevicePaths {
    fn default() -> Self {
        DevicePaths {
            tun: PathBuf::from("/dev/net/tun"),
            vhost_net: PathBuf::from("/dev/vhost-net"),
            macvtap_prefix: "/dev/tap".into(),
        }
    }
}
