//! The device program, written as eBPF instructions (no compiler, no libbpf).
//!
//! For each device access the kernel passes `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major;
//! u32 minor; }`, where `access_type` is `(ACCESS << 16) | TYPE` (`TYPE` block 1, char 2; `ACCESS`
//! bits mknod 1, read 2, write 4). The program looks up two keys in the guest's map, the exact device
//! and the whole major (see [`super::DeviceKey`]), ORs the access bits stored under them, and allows
//! (returns 1) only if every requested bit is among them; otherwise it returns 0 and the access
//! fails with `EPERM`.

/// One `struct bpf_insn`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    /// dst in the low nibble, src in the high nibble.
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

const R0: u8 = 0;
const R1: u8 = 1;
const R2: u8 = 2;
const R3: u8 = 3;
const R6: u8 = 6;
const R7: u8 = 7;
const R9: u8 = 9;
const R10: u8 = 10;

// Opcodes (class | op | source).
const LDX_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const STX_DW: u8 = 0x7b; // BPF_STX | BPF_MEM | BPF_DW
const LD_IMM64: u8 = 0x18; // BPF_LD | BPF_IMM | BPF_DW
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const MOV32_K: u8 = 0xb4;
const ADD64_K: u8 = 0x07;
const AND64_K: u8 = 0x57;
const AND64_X: u8 = 0x5f;
const OR64_X: u8 = 0x4f;
const XOR64_K: u8 = 0xa7;
const LSH64_K: u8 = 0x67;
const RSH64_K: u8 = 0x77;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;

/// `BPF_PSEUDO_MAP_FD`: the immediate of a 64-bit load is a map fd.
const PSEUDO_MAP_FD: u8 = 1;
/// `BPF_FUNC_map_lookup_elem`.
const FUNC_MAP_LOOKUP: i32 = 1;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// `r1 = map`, `r2 = &key on the stack`, `call map_lookup_elem`, `if r0 { r9 |= *(u32 *)r0 }`.
fn lookup_and_merge(p: &mut Vec<Insn>, map_fd: i32) {
    p.push(ins(STX_DW, R10, R2, -8, 0));
    p.push(ins(MOV64_X, R2, R10, 0, 0));
    p.push(ins(ADD64_K, R2, 0, 0, -8));
    p.push(ins(LD_IMM64, R1, PSEUDO_MAP_FD, 0, map_fd));
    p.push(ins(0, 0, 0, 0, 0));
    p.push(ins(CALL, 0, 0, 0, FUNC_MAP_LOOKUP));
    p.push(ins(JEQ_K, R0, 0, 2, 0));
    p.push(ins(LDX_W, R1, R0, 0, 0));
    p.push(ins(OR64_X, R9, R1, 0, 0));
}

/// The device program for the map whose fd is `map_fd`.
pub fn device_program(map_fd: i32) -> Vec<Insn> {
    let mut p = Vec::with_capacity(40);
    // r7 = access_type, r2 = major, r3 = minor
    p.push(ins(LDX_W, R7, R1, 0, 0));
    p.push(ins(LDX_W, R2, R1, 4, 0));
    p.push(ins(LDX_W, R3, R1, 8, 0));
    // r6 = (type << 48) | (major << 32): the key prefix
    p.push(ins(MOV64_X, R6, R7, 0, 0));
    p.push(ins(AND64_K, R6, 0, 0, 0xffff));
    p.push(ins(LSH64_K, R6, 0, 0, 48));
    p.push(ins(LSH64_K, R2, 0, 0, 32));
    p.push(ins(OR64_X, R6, R2, 0, 0));
    // r7 = requested access bits, r9 = allowed bits so far
    p.push(ins(RSH64_K, R7, 0, 0, 16));
    p.push(ins(MOV64_K, R9, 0, 0, 0));
    // the exact device: prefix | minor
    p.push(ins(MOV64_X, R2, R6, 0, 0));
    p.push(ins(OR64_X, R2, R3, 0, 0));
    lookup_and_merge(&mut p, map_fd);
    // the whole major: prefix | 0xffffffff (mov32 zero-extends)
    p.push(ins(MOV32_K, R2, 0, 0, -1));
    p.push(ins(OR64_X, R2, R6, 0, 0));
    lookup_and_merge(&mut p, map_fd);
    // allow iff (requested & !allowed) == 0
    p.push(ins(XOR64_K, R9, 0, 0, -1));
    p.push(ins(AND64_X, R7, R9, 0, 0));
    p.push(ins(MOV64_K, R0, 0, 0, 0));
    p.push(ins(JNE_K, R7, 0, 1, 0));
    p.push(ins(MOV64_K, R0, 0, 0, 1));
    p.push(ins(EXIT, 0, 0, 0, 0));
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small interpreter for exactly the instructions the program uses, so the program's logic
    /// is checked without the kernel (the system tests check it with the kernel).
    fn run(prog: &[Insn], map: &std::collections::HashMap<u64, u32>, ctx: [u32; 3]) -> u64 {
        let mut r = [0u64; 11];
        let mut stack = [0u8; 8];
        let mut pc = 0usize;
        let mut lookup_result: Option<u32> = None;
        loop {
            let i = prog[pc];
            let dst = (i.regs & 0x0f) as usize;
            let src = (i.regs >> 4) as usize;
            let k = i.imm as i64 as u64;
            pc += 1;
            match i.code {
                LDX_W if src == 1 => r[dst] = u64::from(ctx[(i.off / 4) as usize]),
                LDX_W if src == 0 => r[dst] = u64::from(lookup_result.unwrap()),
                STX_DW => stack = r[src].to_le_bytes(),
                MOV64_X => r[dst] = r[src],
                MOV64_K => r[dst] = k,
                MOV32_K => r[dst] = u64::from(i.imm as u32),
                ADD64_K => r[dst] = r[dst].wrapping_add(k),
                AND64_K => r[dst] &= k,
                AND64_X => r[dst] &= r[src],
                OR64_X => r[dst] |= r[src],
                XOR64_K => r[dst] ^= k,
                LSH64_K => r[dst] <<= i.imm,
                RSH64_K => r[dst] >>= i.imm,
                LD_IMM64 => pc += 1,
                CALL => {
                    lookup_result = map.get(&u64::from_le_bytes(stack)).copied();
                    r[0] = u64::from(lookup_result.is_some());
                }
                JEQ_K => {
                    if r[dst] == k {
                        pc = (pc as i64 + i64::from(i.off)) as usize
                    }
                }
                JNE_K => {
                    if r[dst] != k {
                        pc = (pc as i64 + i64::from(i.off)) as usize
                    }
                }
                EXIT => return r[0],
                c => panic!("unexpected opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn program_logic() {
        use super::super::DeviceKey;
        use crate::acl::DeviceKind;
        let prog = device_program(3);
        let mut map = std::collections::HashMap::new();
        map.insert(DeviceKey::device(DeviceKind::Char, 1, 3).unwrap().raw(), 6); // /dev/null rw
        map.insert(DeviceKey::major(DeviceKind::Char, 136).unwrap().raw(), 2); // pty r
        map.insert(
            DeviceKey::device(DeviceKind::Char, 136, 4).unwrap().raw(),
            4,
        ); // pts/4 w
        let char_ = 2u32;
        let acc = |a: u32| (a << 16) | char_;
        assert_eq!(run(&prog, &map, [acc(2), 1, 3]), 1);
        assert_eq!(run(&prog, &map, [acc(6), 1, 3]), 1);
        assert_eq!(run(&prog, &map, [acc(1), 1, 3]), 0, "mknod not granted");
        assert_eq!(run(&prog, &map, [acc(2), 1, 5]), 0, "/dev/zero not granted");
        assert_eq!(
            run(&prog, &map, [(2 << 16) | 1, 1, 3]),
            0,
            "block 1:3 differs"
        );
        assert_eq!(run(&prog, &map, [acc(2), 136, 9]), 1);
        assert_eq!(run(&prog, &map, [acc(6), 136, 9]), 0);
        assert_eq!(
            run(&prog, &map, [acc(6), 136, 4]),
            1,
            "union of exact and major"
        );
    }

    #[test]
    fn encoding() {
        let i = ins(STX_DW, R10, R2, -8, 0);
        assert_eq!(i.regs, 0x2a);
        assert_eq!(std::mem::size_of::<Insn>(), 8);
    }
}
