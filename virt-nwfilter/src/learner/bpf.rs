//! The classic BPF program attached to the capture socket, so the kernel passes only frames from or
//! to the guest MAC (plus broadcast DHCPv4 replies, which a client that sets the broadcast flag gets
//! with destination ff:ff:ff:ff:ff:ff; the matcher then checks their `chaddr`).

use virt_xml::MacAddr;

/// One classic BPF instruction (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

// Opcodes (linux/filter.h, linux/bpf_common.h).
const LD_W_ABS: u16 = 0x20;
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LD_H_IND: u16 = 0x48;
const LDX_B_MSH: u16 = 0xb1;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// Bytes of an accepted frame handed to the socket (the whole of any frame a tap can carry).
pub const SNAPLEN: u32 = 0x40000;

/// A step of the program before jump offsets are resolved: jumps name absolute targets.
enum Step {
    Load(u16, u32),
    /// Jump to `t` when the test holds, else to `f` (absolute indices).
    Jump(u16, u32, usize, usize),
    Ret(u32),
}

/// The program: accept when source MAC == `mac`, or destination MAC == `mac`, or the frame is a
/// broadcast, unfragmented IPv4/UDP datagram from port 67 to port 68.
pub fn guest_filter(mac: MacAddr) -> Vec<Insn> {
    let m = mac.octets();
    let hi = u32::from(u16::from_be_bytes([m[0], m[1]]));
    let lo = u32::from_be_bytes([m[2], m[3], m[4], m[5]]);
    const ACCEPT: usize = 22;
    const REJECT: usize = 23;
    let steps = [
        /* 0 */ Step::Load(LD_W_ABS, 8), // source MAC bytes 2..6
        /* 1 */ Step::Jump(JEQ_K, lo, 2, 4),
        /* 2 */ Step::Load(LD_H_ABS, 6), // source MAC bytes 0..2
        /* 3 */ Step::Jump(JEQ_K, hi, ACCEPT, 4),
        /* 4 */ Step::Load(LD_W_ABS, 2), // destination MAC bytes 2..6
        /* 5 */ Step::Jump(JEQ_K, lo, 6, 8),
        /* 6 */ Step::Load(LD_H_ABS, 0), // destination MAC bytes 0..2
        /* 7 */ Step::Jump(JEQ_K, hi, ACCEPT, REJECT),
        /* 8 */ Step::Jump(JEQ_K, 0xffff_ffff, 9, REJECT), // A still holds bytes 2..6
        /* 9 */ Step::Load(LD_H_ABS, 0),
        /* 10 */ Step::Jump(JEQ_K, 0xffff, 11, REJECT),
        /* 11 */ Step::Load(LD_H_ABS, 12), // ethertype
        /* 12 */ Step::Jump(JEQ_K, 0x0800, 13, REJECT),
        /* 13 */ Step::Load(LD_B_ABS, 23), // IPv4 protocol
        /* 14 */ Step::Jump(JEQ_K, 17, 15, REJECT),
        /* 15 */ Step::Load(LD_H_ABS, 20), // flags + fragment offset
        /* 16 */ Step::Jump(JSET_K, 0x1fff, REJECT, 17),
        /* 17 */ Step::Load(LDX_B_MSH, 14), // X = IPv4 header length
        /* 18 */ Step::Load(LD_H_IND, 14), // UDP source port
        /* 19 */ Step::Jump(JEQ_K, 67, 20, REJECT),
        /* 20 */ Step::Load(LD_H_IND, 16), // UDP destination port
        /* 21 */ Step::Jump(JEQ_K, 68, ACCEPT, REJECT),
        /* 22 */ Step::Ret(SNAPLEN),
        /* 23 */ Step::Ret(0),
    ];
    steps
        .iter()
        .enumerate()
        .map(|(pc, s)| match *s {
            Step::Load(code, k) => Insn {
                code,
                jt: 0,
                jf: 0,
                k,
            },
            Step::Jump(code, k, t, f) => Insn {
                code,
                jt: rel(pc, t),
                jf: rel(pc, f),
                k,
            },
            Step::Ret(k) => Insn {
                code: RET_K,
                jt: 0,
                jf: 0,
                k,
            },
        })
        .collect()
}

/// Forward offset from the instruction after `pc` to `target` (all targets here are forward and
/// close, so the value fits).
fn rel(pc: usize, target: usize) -> u8 {
    debug_assert!(target > pc && target - pc - 1 <= usize::from(u8::MAX));
    u8::try_from(target.saturating_sub(pc + 1)).unwrap_or(u8::MAX)
}

/// Runs the program over `frame` as the kernel would (only the opcodes [`guest_filter`] uses):
/// the number of bytes accepted, 0 to drop. Tests check decisions with it; the system tests check
/// the kernel agrees.
#[cfg(test)]
pub(crate) fn run(prog: &[Insn], frame: &[u8]) -> u32 {
    let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
    let load = |off: usize, n: usize| -> Option<u32> {
        let b = frame.get(off..off.checked_add(n)?)?;
        Some(b.iter().fold(0u32, |v, &byte| (v << 8) | u32::from(byte)))
    };
    while let Some(i) = prog.get(pc) {
        pc += 1;
        let k = i.k as usize;
        match i.code {
            LD_W_ABS | LD_H_ABS | LD_B_ABS => {
                let n = match i.code {
                    LD_W_ABS => 4,
                    LD_H_ABS => 2,
                    _ => 1,
                };
                match load(k, n) {
                    Some(v) => a = v,
                    None => return 0, // out of bounds: the kernel drops the frame
                }
            }
            LD_H_IND => match load(x as usize + k, 2) {
                Some(v) => a = v,
                None => return 0,
            },
            LDX_B_MSH => match load(k, 1) {
                Some(v) => x = (v & 0xf) * 4,
                None => return 0,
            },
            JEQ_K | JSET_K => {
                let hit = if i.code == JEQ_K {
                    a == i.k
                } else {
                    a & i.k != 0
                };
                pc += usize::from(if hit { i.jt } else { i.jf });
            }
            RET_K => return i.k,
            _ => return 0,
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: MacAddr = MacAddr([0x52, 0x54, 0x00, 0xab, 0xcd, 0xef]);

    fn frame(dst: [u8; 6], src: [u8; 6], rest: &[u8]) -> Vec<u8> {
        let mut f = dst.to_vec();
        f.extend_from_slice(&src);
        f.extend_from_slice(rest);
        f
    }

    #[test]
    fn shape() {
        let p = guest_filter(MAC);
        assert_eq!(p.len(), 24);
        assert_eq!(
            p[1],
            Insn {
                code: JEQ_K,
                jt: 0,
                jf: 2,
                k: 0x00ab_cdef
            }
        );
        assert_eq!(
            p[3],
            Insn {
                code: JEQ_K,
                jt: 18,
                jf: 0,
                k: 0x5254
            }
        );
        assert_eq!(
            p[22],
            Insn {
                code: RET_K,
                jt: 0,
                jf: 0,
                k: SNAPLEN
            }
        );
    }

    #[test]
    fn decisions() {
        let p = guest_filter(MAC);
        let other = [2, 0, 0, 0, 0, 1];
        assert_eq!(run(&p, &frame(other, MAC.0, &[8, 6])), SNAPLEN);
        assert_eq!(run(&p, &frame(MAC.0, other, &[8, 0])), SNAPLEN);
        assert_eq!(run(&p, &frame(other, [2, 0, 0, 0, 0, 2], &[8, 0])), 0);
        // Same low four bytes, other high two.
        assert_eq!(
            run(
                &p,
                &frame(other, [0x52, 0x55, 0, 0xab, 0xcd, 0xef], &[8, 0])
            ),
            0
        );
        // Broadcast ARP from someone else: dropped; broadcast DHCP reply: kept.
        assert_eq!(run(&p, &frame([0xff; 6], other, &[8, 6, 0, 1])), 0);
        let mut ip = vec![0x08, 0x00, 0x45, 0, 0, 28, 0, 0, 0x40, 0, 64, 17, 0, 0];
        ip.extend_from_slice(&[
            198, 51, 100, 1, 255, 255, 255, 255, 0, 67, 0, 68, 0, 8, 0, 0,
        ]);
        assert_eq!(run(&p, &frame([0xff; 6], other, &ip)), SNAPLEN);
        ip[25] = 69; // to port 69
        assert_eq!(run(&p, &frame([0xff; 6], other, &ip)), 0);
        assert_eq!(run(&p, &[1, 2, 3]), 0);
    }
}
