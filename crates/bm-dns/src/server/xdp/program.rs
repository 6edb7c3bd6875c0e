//! The XDP program, assembled here rather than compiled by clang so that building bmnet needs
//! no BPF toolchain: it sends UDP datagrams for one port and one of the server's addresses
//! (IPv4 without options or fragmentation, IPv6 with UDP as the first next header) to the
//! AF_XDP socket of the receive queue they arrived on, and passes everything else (ARP, TCP,
//! other ports and addresses — another resolver's, or DNS routed through this host —
//! fragments, VLAN tags) to the kernel untouched. The verifier proves every packet read is
//! inside the packet.

use std::net::{Ipv4Addr, Ipv6Addr};

/// One eBPF instruction, as the kernel reads it (`struct bpf_insn`, 8 bytes).
pub(crate) use bm_sys::xdp::Insn;

/// Offsets into `struct xdp_md`.
const XDP_MD_DATA: i16 = 0;
const XDP_MD_DATA_END: i16 = 4;
const XDP_MD_RX_QUEUE_INDEX: i16 = 16;
/// `XDP_PASS`: hand the packet to the kernel's stack.
pub(crate) const XDP_PASS: i32 = 2;
/// `BPF_FUNC_redirect_map`.
const HELPER_REDIRECT_MAP: i32 = 51;
/// `BPF_PSEUDO_MAP_FD`: the 64-bit immediate is a map's file descriptor.
const PSEUDO_MAP_FD: u8 = 1;

/// Where a jump goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Label {
    Ipv4,
    Ipv6,
    Redirect,
    Pass,
    /// After the comparison with the IPv6 address of this index.
    NextV6(usize),
}

/// An instruction before its jump offset is known.
enum Op {
    Fixed(Insn),
    /// `code dst src`, jumping to the label.
    Jump {
        code: u8,
        dst: u8,
        src: u8,
        imm: i32,
        to: Label,
    },
    Here(Label),
}

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    let o = off.to_le_bytes();
    let i = imm.to_le_bytes();
    [code, (src << 4) | (dst & 0x0f), o[0], o[1], i[0], i[1], i[2], i[3]]
}

// Opcodes (class | size/op | mode/source).
const LDX_W: u8 = 0x61;
const LDX_H: u8 = 0x69;
const LDX_B: u8 = 0x71;
const MOV64_X: u8 = 0xbf;
const MOV64_K: u8 = 0xb7;
const ADD64_K: u8 = 0x07;
const AND64_K: u8 = 0x57;
const JA: u8 = 0x05;
const JEQ_K: u8 = 0x15;
const JNE_K: u8 = 0x55;
// 32-bit comparisons (JMP32, kernel 5.1): a 64-bit one would sign-extend the immediate, and an
// address word with its top bit set would never match the zero-extended load.
const JEQ32_K: u8 = 0x16;
const JNE32_K: u8 = 0x56;
const JGT_X: u8 = 0x2d;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;
const LD_IMM64: u8 = 0x18;

/// A 16-bit field as the program loads it: `ldxh` reads host byte order, the wire is big-endian.
fn wire16(value: u16) -> i32 {
    i32::from(u16::from_ne_bytes(value.to_be_bytes()))
}

/// An address word as the program loads it (`ldxw`, host byte order).
fn wire32(bytes: [u8; 4]) -> i32 {
    i32::from_ne_bytes(bytes)
}

/// The most addresses of one family the program compares with.
pub(crate) const MAX_ADDRESSES: usize = 16;

/// The program for UDP port `port` on the addresses `v4` and `v6` (at most [`MAX_ADDRESSES`]
/// each; a family without any is left to the kernel), redirecting through the XSKMAP whose
/// descriptor is `map_fd`.
pub(crate) fn udp_port_redirect(port: u16, v4: &[Ipv4Addr], v6: &[Ipv6Addr], map_fd: i32) -> Vec<Insn> {
    use Label::*;
    let (r0, r1, r2, r3, r4, r5, r6) = (0, 1, 2, 3, 4, 5, 6);
    let fixed = Op::Fixed;
    let jump = |code, dst, src, imm, to| Op::Jump { code, dst, src, imm, to };
    // r2 = data, r3 = data_end, r4 = data + bytes needed, r5 = the field read, r6 = ctx.
    let mut ops = vec![
        fixed(insn(MOV64_X, r6, r1, 0, 0)),
        fixed(insn(LDX_W, r2, r1, XDP_MD_DATA, 0)),
        fixed(insn(LDX_W, r3, r1, XDP_MD_DATA_END, 0)),
        fixed(insn(MOV64_X, r4, r2, 0, 0)),
        fixed(insn(ADD64_K, r4, 0, 0, 14)),
        jump(JGT_X, r4, r3, 0, Pass),
        fixed(insn(LDX_H, r5, r2, 12, 0)),
        jump(JEQ_K, r5, 0, wire16(0x0800), Ipv4),
        jump(JEQ_K, r5, 0, wire16(0x86dd), Ipv6),
        jump(JA, 0, 0, 0, Pass),
        Op::Here(Ipv4),
        // Ethernet 14 + IPv4 20 + UDP 8.
        fixed(insn(MOV64_X, r4, r2, 0, 0)),
        fixed(insn(ADD64_K, r4, 0, 0, 42)),
        jump(JGT_X, r4, r3, 0, Pass),
        // Version 4, header length 5 words: no options.
        fixed(insn(LDX_B, r5, r2, 14, 0)),
        jump(JNE_K, r5, 0, 0x45, Pass),
        fixed(insn(LDX_B, r5, r2, 23, 0)),
        jump(JNE_K, r5, 0, 17, Pass),
        // More-fragments flag and fragment offset: a fragment goes to the kernel to reassemble.
        fixed(insn(LDX_H, r5, r2, 20, 0)),
        fixed(insn(AND64_K, r5, 0, 0, wire16(0x3fff))),
        jump(JNE_K, r5, 0, 0, Pass),
        fixed(insn(LDX_H, r5, r2, 36, 0)),
        jump(JNE_K, r5, 0, wire16(port), Pass),
    ];
    // The destination address (bytes 30-33) must be one of ours.
    for a in v4.iter().take(MAX_ADDRESSES) {
        ops.push(fixed(insn(LDX_W, r5, r2, 30, 0)));
        ops.push(jump(JEQ32_K, r5, 0, wire32(a.octets()), Redirect));
    }
    ops.extend([
        jump(JA, 0, 0, 0, Pass),
        Op::Here(Ipv6),
        // Ethernet 14 + IPv6 40 + UDP 8.
        fixed(insn(MOV64_X, r4, r2, 0, 0)),
        fixed(insn(ADD64_K, r4, 0, 0, 62)),
        jump(JGT_X, r4, r3, 0, Pass),
        fixed(insn(LDX_B, r5, r2, 20, 0)),
        jump(JNE_K, r5, 0, 17, Pass),
        fixed(insn(LDX_H, r5, r2, 56, 0)),
        jump(JNE_K, r5, 0, wire16(port), Pass),
    ]);
    // The destination address (bytes 38-53), four words at a time.
    for (i, a) in v6.iter().take(MAX_ADDRESSES).enumerate() {
        let o = a.octets();
        for w in 0..4 {
            ops.push(fixed(insn(LDX_W, r5, r2, 38 + 4 * w as i16, 0)));
            ops.push(jump(JNE32_K, r5, 0, wire32([o[4 * w], o[4 * w + 1], o[4 * w + 2], o[4 * w + 3]]), NextV6(i)));
        }
        ops.push(jump(JA, 0, 0, 0, Redirect));
        ops.push(Op::Here(NextV6(i)));
    }
    ops.extend([
        jump(JA, 0, 0, 0, Pass),
        Op::Here(Redirect),
        fixed(insn(LDX_W, r2, r6, XDP_MD_RX_QUEUE_INDEX, 0)),
        fixed(insn(LD_IMM64, r1, PSEUDO_MAP_FD, 0, map_fd)),
        fixed(insn(0, 0, 0, 0, 0)),
        // The flags' low bits are the action when the queue has no socket: pass, not drop.
        fixed(insn(MOV64_K, r3, 0, 0, XDP_PASS)),
        fixed(insn(CALL, 0, 0, 0, HELPER_REDIRECT_MAP)),
        fixed(insn(EXIT, 0, 0, 0, 0)),
        Op::Here(Pass),
        fixed(insn(MOV64_K, r0, 0, 0, XDP_PASS)),
        fixed(insn(EXIT, 0, 0, 0, 0)),
    ]);
    assemble(&ops)
}

/// Resolves labels: a jump's offset counts instructions after the jump itself.
fn assemble(ops: &[Op]) -> Vec<Insn> {
    let mut at = Vec::new();
    let mut n = 0usize;
    for op in ops {
        match op {
            Op::Here(l) => at.push((*l, n)),
            _ => n += 1,
        }
    }
    let target = |l: Label| at.iter().find(|(x, _)| *x == l).map(|&(_, i)| i).expect("every label is placed");
    let mut out = Vec::with_capacity(n);
    for op in ops {
        match *op {
            Op::Fixed(i) => out.push(i),
            Op::Jump { code, dst, src, imm, to } => {
                let off = target(to) as i64 - (out.len() as i64 + 1);
                out.push(insn(code, dst, src, i16::try_from(off).expect("a short program"), imm));
            }
            Op::Here(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn off(i: &Insn) -> i16 {
        i16::from_le_bytes([i[2], i[3]])
    }

    #[test]
    fn encodes_registers_offsets_and_immediates_as_the_kernel_reads_them() {
        // `r2 = *(u32 *)(r1 + 4)`: dst in the low nibble, src in the high one.
        assert_eq!(insn(LDX_W, 2, 1, 4, 0), [0x61, 0x12, 4, 0, 0, 0, 0, 0]);
        // `r3 = 2`.
        assert_eq!(insn(MOV64_K, 3, 0, 0, 2), [0xb7, 0x03, 0, 0, 2, 0, 0, 0]);
        // A negative offset is two's complement.
        assert_eq!(insn(JA, 0, 0, -2, 0)[2..4], [0xfe, 0xff]);
    }

    fn v4() -> Vec<Ipv4Addr> {
        vec!["10.0.0.2".parse().unwrap(), "192.168.111.20".parse().unwrap()]
    }

    fn v6() -> Vec<Ipv6Addr> {
        vec!["fd00::2".parse().unwrap()]
    }

    #[test]
    fn jumps_land_on_their_labels() {
        let p = udp_port_redirect(53, &v4(), &v6(), 7);
        // 37 fixed, 2 per IPv4 address, 9 per IPv6 address, a closing jump per family.
        assert_eq!(p.len(), 37 + 2 * 2 + 9 + 2);
        // Every conditional or unconditional jump lands inside the program, forward.
        for (i, x) in p.iter().enumerate() {
            if [JA, JEQ_K, JNE_K, JGT_X, JEQ32_K, JNE32_K].contains(&x[0]) {
                let to = i as i64 + 1 + i64::from(off(x));
                assert!(to > i as i64 && to < p.len() as i64, "jump at {i} to {to}");
            }
        }
        // The last two instructions are `r0 = XDP_PASS; exit`, which every failed check reaches.
        assert_eq!(p[p.len() - 2], insn(MOV64_K, 0, 0, 0, XDP_PASS));
        let pass = p.len() as i64 - 2;
        let first_check = &p[5];
        assert_eq!(5 + 1 + i64::from(off(first_check)), pass);
    }

    #[test]
    fn the_addresses_are_compared_as_32_bit_words() {
        let p = udp_port_redirect(53, &v4(), &v6(), 7);
        let imm = |i: &Insn| i32::from_le_bytes([i[4], i[5], i[6], i[7]]);
        // 192.168.111.20 has its top bit set: a 64-bit compare would sign-extend it.
        let v4_words: Vec<i32> = p.iter().filter(|i| i[0] == JEQ32_K).map(imm).collect();
        assert_eq!(v4_words, [wire32([10, 0, 0, 2]), wire32([192, 168, 111, 20])]);
        let v6_words: Vec<i32> = p.iter().filter(|i| i[0] == JNE32_K).map(imm).collect();
        assert_eq!(v6_words, [wire32([0xfd, 0, 0, 0]), 0, 0, wire32([0, 0, 0, 2])]);
        // No address of a family: none of its packets is taken.
        let none = udp_port_redirect(53, &[], &[], 7);
        assert!(!none.iter().any(|i| i[0] == JEQ32_K || i[0] == JNE32_K));
    }

    #[test]
    fn the_port_and_the_map_are_in_the_program() {
        let p = udp_port_redirect(5353, &v4(), &v6(), 42);
        let port = wire16(5353);
        assert!(
            p.iter().filter(|i| i[0] == JNE_K && i32::from_le_bytes([i[4], i[5], i[6], i[7]]) == port).count() == 2
        );
        let ld = p.iter().position(|i| i[0] == LD_IMM64).unwrap();
        assert_eq!(p[ld][1] >> 4, PSEUDO_MAP_FD);
        assert_eq!(i32::from_le_bytes([p[ld][4], p[ld][5], p[ld][6], p[ld][7]]), 42);
        // A 64-bit immediate takes two slots; the second is all zero here.
        assert_eq!(p[ld + 1], [0; 8]);
    }
}
