//! Fuzzes DNS-over-TCP framing: arbitrary bytes delivered in arbitrary splits must give the
//! same messages as a reference reader of the whole stream, never panic, and never leave more
//! buffered than what no message has taken.

use bm_dns::TcpFraming;

/// Messages of the whole stream, read the obvious way, and the bytes left over.
fn reference(stream: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut out = Vec::new();
    let mut at = 0;
    while let Some(len) = stream.get(at..at + 2).map(|l| usize::from(u16::from_be_bytes([l[0], l[1]]))) {
        let Some(m) = stream.get(at + 2..at + 2 + len) else { break };
        out.push(m.to_vec());
        at += 2 + len;
    }
    (out, stream.len() - at)
}

/// One input.
pub fn run(data: &[u8]) {
    // The first bytes say where to cut the rest.
    let Some((&cuts, rest)) = data.split_first() else { return };
    let (cut_bytes, stream) = rest.split_at(usize::from(cuts).min(rest.len()));
    let mut f = TcpFraming::default();
    let mut got = Vec::new();
    let mut at = 0;
    for &c in cut_bytes.iter().chain(std::iter::repeat(&255)) {
        if at >= stream.len() {
            break;
        }
        let end = (at + usize::from(c) + 1).min(stream.len());
        f.push(&stream[at..end]);
        at = end;
        while let Some(m) = f.next_message() {
            got.push(m);
        }
    }
    let (want, left) = reference(stream);
    assert_eq!(got, want);
    assert_eq!(f.buffered(), left);
    assert_eq!(f.in_progress(), left > 0);
}
