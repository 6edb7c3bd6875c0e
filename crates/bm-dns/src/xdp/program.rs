//! The XDP program, assembled here rather than compiled by clang so that building bmnet needs
//! no BPF toolchain: it sends UDP datagrams for one port (IPv4 without options or
//! fragmentation, IPv6 with UDP as the first next header) to the AF_XDP socket of the receive
//! queue they arrived on, and passes everything else (ARP, TCP, other ports, fragments, VLAN
//! tags) to the kernel untouched. 38 instructions; the verifier proves every packet read is
//! inside the packet.

/// One eBPF instruction, as the kernel reads it (`struct bpf_insn`, 8 bytes).
pub(crate) type Insn = [u8; 8];

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
const JGT_X: u8 = 0x2d;
const CALL: u8 = 0x85;
const EXIT: u8 = 0x95;
const LD_IMM64: u8 = 0x18;

/// A 16-bit field as the program loads it: `ldxh` reads host byte order, the wire is big-endian.
fn wire16(value: u16) -> i32 {
    i32::from(u16::from_ne_bytes(value.to_be_bytes()))
}

/// The program for UDP port `port`, redirecting through the XSKMAP whose descriptor is `map_fd`.
pub(crate) fn udp_port_redirect(port: u16, map_fd: i32) -> Vec<Insn> {
    use Label::*;
    let (r0, r1, r2, r3, r4, r5, r6) = (0, 1, 2, 3, 4, 5, 6);
    let fixed = Op::Fixed;
    let jump = |code, dst, src, imm, to| Op::Jump { code, dst, src, imm, to };
    // r2 = data, r3 = data_end, r4 = data + bytes needed, r5 = the field read, r6 = ctx.
    let ops = [
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
        jump(JA, 0, 0, 0, Redirect),
        Op::Here(Ipv6),
        // Ethernet 14 + IPv6 40 + UDP 8.
        fixed(insn(MOV64_X, r4, r2, 0, 0)),
        fixed(insn(ADD64_K, r4, 0, 0, 62)),
        jump(JGT_X, r4, r3, 0, Pass),
        fixed(insn(LDX_B, r5, r2, 20, 0)),
        jump(JNE_K, r5, 0, 17, Pass),
        fixed(insn(LDX_H, r5, r2, 56, 0)),
        jump(JNE_K, r5, 0, wire16(port), Pass),
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
    ];
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

    #[test]
    fn jumps_land_on_their_labels() {
        let p = udp_port_redirect(53, 7);
        assert_eq!(p.len(), 38);
        // Every conditional or unconditional jump lands inside the program, forward.
        for (i, x) in p.iter().enumerate() {
            if [JA, JEQ_K, JNE_K, JGT_X].contains(&x[0]) {
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
    fn the_port_and_the_map_are_in_the_program() {
        let p = udp_port_redirect(5353, 42);
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
