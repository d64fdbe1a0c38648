//! The driver options libvirt's argv test program (`qemuxml2argvtest`) changes around some of its
//! cases, as data: which case runs under which changed options, and what each option means as a
//! [`DriverConfig`] field.
//!
//! The program starts every case from one base configuration
//! ([`HostContext::libvirt_test_harness`](crate::argv::HostContext::libvirt_test_harness)); before
//! some cases it changes qemu.conf options or the daemon's environment and resets them after.
//! [`CASES`] lists every case the program runs with changed options (also cases this copy of
//! the corpus does not hold, and cases it only runs for older QEMU versions), so the same table
//! serves any copy of the corpus.
//!
//! Left out on purpose: the VXHS TLS option (VXHS does not exist in QEMU 7.2), the host CPU and
//! host architecture the program swaps for cases it runs only without the `x86_64-latest`
//! capabilities, the fake swtpm versions of the two TPM refusal variants, and per-case arguments
//! that are not driver options (passed fd groups, migration sources). The NBD TLS secret is set by
//! the program before the NBD TLS cases and never reset, but no later case uses NBD TLS, so it is
//! listed with those cases only.

use std::path::PathBuf;

use virt_xml::Uuid;

use super::host::DriverConfig;

/// The secret UUID the test program gives to every TLS key password option.
pub const TLS_SECRET_UUID: Uuid = Uuid([
    0x6f, 0xd3, 0xf6, 0x2d, 0x9f, 0xe7, 0x4a, 0x4e, 0xa8, 0x69, 0x7a, 0xcd, 0x63, 0x76, 0xd8, 0xea,
]);

/// One change the test program makes to its driver before a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HarnessOption {
    /// `dump_guest_core = 1`.
    DumpGuestCore,
    /// The daemon runs with `QEMU_AUDIO_DRV=sdl` and `SDL_AUDIODRIVER=esd`.
    HostAudioSdl,
    /// The daemon runs with `QEMU_AUDIO_DRV=alsa`.
    HostAudioAlsa,
    /// `vnc_allow_host_audio = 1`.
    VncAllowHostAudio,
    /// `nographics_allow_host_audio = 1`.
    NographicsAllowHostAudio,
    /// `nbd_tls_x509_secret_uuid` set.
    NbdTlsSecret,
    /// `vnc_auto_unix_socket = 1`.
    VncAutoUnixSocket,
    /// `vnc_sasl = 1` with `vnc_sasl_dir = "/root/.sasl2"`.
    VncSasl,
    /// `vnc_tls = 1` and `vnc_tls_x509_verify = 1` (certificates in `/etc/pki/libvirt-vnc`).
    VncTls,
    /// `vnc_tls_x509_secret_uuid` set.
    VncTlsSecret,
    /// `spice_sasl = 1` with `spice_sasl_dir = "/root/.sasl2"`.
    SpiceSasl,
    /// `spice_auto_unix_socket = 1`.
    SpiceAutoUnixSocket,
    /// `chardev_tls = 1` (certificates in `/etc/pki/libvirt-chardev`).
    ChardevTls,
    /// `chardev_tls_x509_verify = 1`.
    ChardevTlsVerify,
    /// `chardev_tls_x509_secret_uuid` set.
    ChardevTlsSecret,
}

/// A case of the test program and the options changed for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HarnessCase {
    pub name: &'static str,
    pub options: &'static [HarnessOption],
}

use HarnessOption as O;

const fn case(name: &'static str, options: &'static [HarnessOption]) -> HarnessCase {
    HarnessCase { name, options }
}

const NBD_TLS: &[HarnessOption] = &[O::NbdTlsSecret];
const CHARDEV_TLS: &[HarnessOption] = &[O::ChardevTls];

/// Every case the test program runs with changed driver options, in the program's order.
pub const CASES: &[HarnessCase] = &[
    case("machine-core-off", &[O::DumpGuestCore]),
    case("audio-default-sdl", &[O::HostAudioSdl]),
    case(
        "audio-default-vnc",
        &[O::HostAudioAlsa, O::VncAllowHostAudio],
    ),
    case(
        "audio-default-nographics",
        &[O::HostAudioAlsa, O::NographicsAllowHostAudio],
    ),
    case("disk-network-tlsx509-nbd", NBD_TLS),
    case("disk-network-tlsx509-nbd-hostname", NBD_TLS),
    case("disk-network-tlsx509-vxhs", NBD_TLS),
    case("disk-network-http", NBD_TLS),
    case("graphics-vnc-auto-socket-cfg", &[O::VncAutoUnixSocket]),
    case("graphics-vnc-sasl", &[O::VncSasl]),
    case("graphics-vnc-tls", &[O::VncSasl, O::VncTls]),
    case(
        "graphics-vnc-tls-secret",
        &[O::VncSasl, O::VncTls, O::VncTlsSecret],
    ),
    case("graphics-spice-sasl", &[O::SpiceSasl]),
    case("graphics-spice-auto-socket-cfg", &[O::SpiceAutoUnixSocket]),
    case("serial-tcp-tlsx509-chardev", CHARDEV_TLS),
    case(
        "serial-tcp-tlsx509-chardev-verify",
        &[O::ChardevTls, O::ChardevTlsVerify],
    ),
    case("serial-tcp-tlsx509-chardev-notls", CHARDEV_TLS),
    case(
        "serial-tcp-tlsx509-secret-chardev",
        &[O::ChardevTls, O::ChardevTlsSecret],
    ),
];

/// The options changed for case `name` (none for a case run with the base configuration).
pub fn options_for(name: &str) -> &'static [HarnessOption] {
    CASES
        .iter()
        .find(|c| c.name == name)
        .map(|c| c.options)
        .unwrap_or(&[])
}

/// Sets `options` in `config` (on top of the base configuration).
pub fn apply(options: &[HarnessOption], config: &mut DriverConfig) {
    for o in options {
        apply_one(*o, config);
    }
}

fn apply_one(option: HarnessOption, c: &mut DriverConfig) {
    let sasl_dir = || Some(PathBuf::from("/root/.sasl2"));
    match option {
        O::DumpGuestCore => c.dump_guest_core = true,
        O::HostAudioSdl => {
            c.host_audio_driver = Some("sdl".into());
            c.host_sdl_audio_driver = Some("esd".into());
        }
        O::HostAudioAlsa => c.host_audio_driver = Some("alsa".into()),
        O::VncAllowHostAudio => c.vnc_allow_host_audio = true,
        O::NographicsAllowHostAudio => c.nographics_allow_host_audio = true,
        O::NbdTlsSecret => c.nbd_tls_secret_uuid = Some(TLS_SECRET_UUID),
        O::VncAutoUnixSocket => c.vnc_auto_unix_socket = true,
        O::VncSasl => c.vnc_sasl_dir = sasl_dir(),
        O::VncTls => {
            c.vnc_tls_dir = Some(PathBuf::from("/etc/pki/libvirt-vnc"));
            c.vnc_tls_verify = true;
        }
        O::VncTlsSecret => c.vnc_tls_secret_uuid = Some(TLS_SECRET_UUID),
        O::SpiceSasl => {
            c.spice_sasl = true;
            c.spice_sasl_dir = sasl_dir();
        }
        O::SpiceAutoUnixSocket => c.spice_auto_unix_socket = true,
        O::ChardevTls => {
            let verify = c.chardev_tls.as_ref().is_some_and(|(_, v)| *v);
            c.chardev_tls = Some((PathBuf::from("/etc/pki/libvirt-chardev"), verify));
        }
        // Verification means something only with chardev TLS on (listed before it).
        O::ChardevTlsVerify => {
            if let Some((_, verify)) = c.chardev_tls.as_mut() {
                *verify = true;
            }
        }
        O::ChardevTlsSecret => c.chardev_tls_secret_uuid = Some(TLS_SECRET_UUID),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_uuid_spelling() {
        assert_eq!(
            TLS_SECRET_UUID.to_string(),
            "6fd3f62d-9fe7-4a4e-a869-7acd6376d8ea"
        );
    }

    #[test]
    fn names_are_unique() {
        for (i, c) in CASES.iter().enumerate() {
            assert!(
                CASES[i + 1..].iter().all(|d| d.name != c.name),
                "{}",
                c.name
            );
        }
    }
}
