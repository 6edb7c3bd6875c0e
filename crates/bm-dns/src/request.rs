//! Reading a query: a fast path for the common shape (one question, at most an OPT record),
//! and hickory-proto for everything else. Both produce the same [`Request`], so the answer
//! never depends on which path read it.

use hickory_proto::op::{Message, MessageType};

use crate::name::{self, MAX_NAME};
use crate::zone::rtype;

/// The parts of a query the answer depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Request {
    pub(crate) id: u16,
    pub(crate) opcode: u8,
    pub(crate) rd: bool,
    pub(crate) cd: bool,
    /// Where the question's name ends in the query (it starts at byte 12).
    pub(crate) qname_end: usize,
    pub(crate) qname_lower: [u8; MAX_NAME],
    pub(crate) qname_len: usize,
    pub(crate) qtype: u16,
    pub(crate) qclass: u16,
    pub(crate) edns: Option<Edns>,
    /// The query's TSIG record, when it is signed (read by the general path only: a signed
    /// query never has the fast path's shape).
    pub(crate) tsig: Option<Box<Tsig>>,
}

/// What a TSIG error response needs of the query's TSIG record (RFC 8945 §4.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Tsig {
    /// The key's name, wire format.
    pub(crate) key: Vec<u8>,
    /// The algorithm's name, wire format.
    pub(crate) algorithm: Vec<u8>,
    /// Time signed (48 bits) and fudge.
    pub(crate) time: u64,
    pub(crate) fudge: u16,
    pub(crate) original_id: u16,
}

impl Request {
    pub(crate) fn qname(&self) -> &[u8] {
        &self.qname_lower[..self.qname_len]
    }
}

/// The client's EDNS(0) OPT record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Edns {
    pub(crate) payload: u16,
    pub(crate) version: u8,
    pub(crate) dnssec_ok: bool,
}

/// Why a query gets no ordinary answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not worth an answer: shorter than a header, or a response.
    Drop,
    /// FORMERR built from the raw header (the question could not be read).
    FormErr,
    /// An opcode other than QUERY: NOTIMP.
    NotImp,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The header checks both paths share: drop what is not a query.
pub(crate) fn header(query: &[u8]) -> Result<(u16, u8), Refusal> {
    if query.len() < 12 {
        return Err(Refusal::Drop);
    }
    if query[2] & 0x80 != 0 {
        return Err(Refusal::Drop); // QR set: a response, never answered (no reflection loops)
    }
    let id = u16::from_be_bytes([query[0], query[1]]);
    let opcode = (query[2] >> 3) & 0x0f;
    Ok((id, opcode))
}

/// The fast path: exactly one question, no answer or authority records, at most one
/// additional record which is a well-formed OPT, and nothing after it. `None` for anything else.
pub(crate) fn fast(query: &[u8]) -> Option<Request> {
    let (id, opcode) = header(query).ok()?;
    if opcode != 0 {
        return None;
    }
    let (qd, an, ns, ar) = (u16_at(query, 4)?, u16_at(query, 6)?, u16_at(query, 8)?, u16_at(query, 10)?);
    if qd != 1 || an != 0 || ns != 0 || ar > 1 {
        return None;
    }
    let mut buf = [0u8; MAX_NAME];
    let (qname, qname_end) = name::read_lower(query, 12, &mut buf)?;
    let qname_len = qname.len();
    let qtype = u16_at(query, qname_end)?;
    let qclass = u16_at(query, qname_end + 2)?;
    let mut at = qname_end + 4;
    let edns = if ar == 1 {
        // Root owner, type OPT, class = payload, TTL = ext-rcode, version, flags; RDATA.
        if *query.get(at)? != 0 || u16_at(query, at + 1)? != rtype::OPT {
            return None;
        }
        let payload = u16_at(query, at + 3)?;
        let version = *query.get(at + 6)?;
        let flags = u16_at(query, at + 7)?;
        let rdlen = usize::from(u16_at(query, at + 9)?);
        if !plain_options(query.get(at + 11..at + 11 + rdlen)?) {
            return None;
        }
        at += 11 + rdlen;
        // RFC 6891 §6.2.3: values below 512 are treated as 512.
        Some(Edns { payload: payload.max(512), version, dnssec_ok: flags & 0x8000 != 0 })
    } else {
        None
    };
    if at != query.len() {
        return None;
    }
    Some(Request {
        id,
        opcode,
        rd: query[2] & 0x01 != 0,
        cd: query[3] & 0x10 != 0,
        qname_end,
        qname_lower: buf,
        qname_len,
        qtype,
        qclass,
        edns,
        tsig: None,
    })
}

/// Whether an OPT record's RDATA is whole options (RFC 6891 §6.1.2: code, length, that many
/// bytes, to the end), none of them an EDNS Client Subnet (RFC 7871), whose contents
/// hickory-proto checks. Anything else goes to the general path, which says what it is: a
/// broken option is FORMERR there, an option cut short by the RDATA's end is ignored.
fn plain_options(mut rdata: &[u8]) -> bool {
    const CLIENT_SUBNET: u16 = 8;
    while !rdata.is_empty() {
        let (Some(code), Some(len)) = (u16_at(rdata, 0), u16_at(rdata, 2)) else { return false };
        let Some(rest) = rdata.get(4 + usize::from(len)..) else { return false };
        if code == CLIENT_SUBNET {
            return false;
        }
        rdata = rest;
    }
    true
}

/// The TSIG record that ends a signed query's additional section (RFC 8945 §5.1), read from
/// the bytes: hickory-proto only decodes TSIG with its DNSSEC features.
fn tsig(query: &[u8]) -> Option<Tsig> {
    const TSIG: u16 = 250;
    let layout = crate::message::layout(query)?;
    let record = *layout.additional.last()?;
    if record.rtype != TSIG {
        return None;
    }
    let mut key = [0u8; MAX_NAME];
    let key = name::read_compressed_lower(query, record.start, &mut key)?.to_vec();
    let rdata = name::skip(query, record.start)? + 10;
    // The algorithm's name is never compressed (RFC 8945 §4.2).
    let algorithm_end = name::skip(query, rdata)?;
    let algorithm = query.get(rdata..algorithm_end)?.to_ascii_lowercase();
    let fixed = query.get(algorithm_end..algorithm_end + 10)?;
    let time = fixed[..6].iter().fold(0u64, |t, &b| (t << 8) | u64::from(b));
    let fudge = u16::from_be_bytes([fixed[6], fixed[7]]);
    let mac_len = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
    let original_id = u16_at(query, algorithm_end + 10 + mac_len)?;
    Some(Tsig { key, algorithm, time, fudge, original_id })
}

/// Where the EDNS payload field (the OPT record's class) of a query of the fast path's shape
/// is, when it has an OPT: the forwarder rewrites it.
pub(crate) fn fast_opt_payload_at(query: &[u8], req: &Request) -> Option<usize> {
    let at = req.qname_end + 4;
    let shaped = u16_at(query, 6)? == 0 && u16_at(query, 8)? == 0 && u16_at(query, 10)? == 1;
    (shaped && req.edns.is_some() && *query.get(at)? == 0 && u16_at(query, at + 1)? == rtype::OPT)
        .then_some(at + 3)
        .filter(|&p| p + 2 <= query.len())
}

/// The general path: hickory-proto reads the whole message (several records, OPT anywhere
/// among the additionals, and the malformations it catches: two OPTs, bad pointers, short
/// records).
pub(crate) fn general(query: &[u8]) -> Result<Request, Refusal> {
    let (id, opcode) = header(query)?;
    let msg = match Message::from_vec(query) {
        Ok(m) => m,
        Err(_) if opcode != 0 => return Err(Refusal::NotImp),
        Err(_) => return Err(Refusal::FormErr),
    };
    if msg.metadata.message_type != MessageType::Query {
        return Err(Refusal::Drop);
    }
    if opcode != 0 {
        return Err(Refusal::NotImp);
    }
    // One question (RFC 9619); its name uncompressed (a pointer could only lead backwards into
    // the header).
    if msg.queries.len() != 1 {
        return Err(Refusal::FormErr);
    }
    let mut buf = [0u8; MAX_NAME];
    let (qname, qname_end) = name::read_lower(query, 12, &mut buf).ok_or(Refusal::FormErr)?;
    let qname_len = qname.len();
    let q = &msg.queries[0];
    let edns = msg.edns.as_ref().map(|e| Edns {
        payload: e.max_payload().max(512),
        version: e.version(),
        dnssec_ok: e.flags().dnssec_ok,
    });
    let tsig = tsig(query).map(Box::new);
    Ok(Request {
        id,
        opcode,
        rd: msg.metadata.recursion_desired,
        cd: msg.metadata.checking_disabled,
        qname_end,
        qname_lower: buf,
        qname_len,
        qtype: u16::from(q.query_type()),
        qclass: u16::from(q.query_class()),
        edns,
        tsig,
    })
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns as HEdns, Message, Query};
    use hickory_proto::rr::{Name, RecordType};
    use proptest::prelude::*;

    use super::*;
    use crate::{ClusterZone, ZoneConfig};

    fn zone() -> ClusterZone {
        ClusterZone::new(
            ZoneConfig::from_toml(
                "cluster = \"c\"\nbase_domain = \"example.com\"\napi_vips = [\"192.0.2.5\"]\ningress_vips = [\"192.0.2.4\"]\n[nodes]\nm0 = [\"192.0.2.20\", \"2001:db8::20\"]",
            )
            .unwrap(),
        )
        .unwrap()
    }

    fn arb_query() -> impl Strategy<Value = Vec<u8>> {
        let names = prop::sample::select(vec![
            "c.example.com.",
            "api.c.example.com.",
            "API.C.Example.COM.",
            "x.apps.c.example.com.",
            "a.b.apps.c.example.com.",
            "apps.c.example.com.",
            "m0.c.example.com.",
            "nope.c.example.com.",
            "www.example.org.",
            ".",
            "5.2.0.192.in-addr.arpa.",
        ]);
        let types = prop::sample::select(vec![1u16, 2, 5, 6, 12, 15, 16, 28, 33, 41, 252, 255, 65280]);
        (
            names,
            types,
            any::<u16>(),
            any::<bool>(),
            any::<bool>(),
            prop::option::of((any::<u16>(), any::<bool>(), 0u8..2)),
        )
            .prop_map(|(name, t, id, rd, cd, edns)| {
                let mut m = Message::query();
                m.metadata.id = id;
                m.metadata.recursion_desired = rd;
                m.metadata.checking_disabled = cd;
                m.add_query(Query::query(Name::from_ascii(name).unwrap(), RecordType::from(t)));
                if let Some((payload, dnssec_ok, version)) = edns {
                    let mut e = HEdns::new();
                    e.set_max_payload(payload).set_dnssec_ok(dnssec_ok).set_version(version);
                    m.set_edns(e);
                }
                m.to_vec().unwrap()
            })
    }

    /// Found by the `dns_fast_vs_general` fuzz target: a query whose OPT RDATA is one byte, no
    /// whole option (`c.example.,om SOA`, payload 100). The fast path skipped the RDATA and
    /// answered NOERROR; hickory-proto refuses the message, so the general path answered
    /// FORMERR: the answer depended on which path read the query.
    #[test]
    fn an_opt_with_a_broken_option_is_formerr_on_both_paths() {
        let q: &[u8] = b"\x00\x05\x01\x00\x00\x01\x00\x00\x00\x00\x00\x01\
                         \x01c\x07example\x03,om\x00\x00\x06\x00\x01\
                         \x00\x00\x29\x00\x64\x00\x00\x00\x00\x00\x01\x00";
        assert_eq!(fast(q), None);
        assert_eq!(general(q), Err(Refusal::FormErr));
        let mut out = Vec::new();
        assert_eq!(zone().answer(q, &mut out), crate::Outcome::Answered);
        assert_eq!(out[3] & 0x0f, 1, "FORMERR");

        // Whole options (a cookie, as dig sends one; an empty NSID) stay on the fast path.
        let mut m = Message::query();
        m.add_query(Query::query(Name::from_ascii("api.c.example.com.").unwrap(), RecordType::A));
        m.set_edns(HEdns::new());
        let mut with_options = m.to_vec().unwrap();
        let rdlen_at = with_options.len() - 2;
        with_options[rdlen_at + 1] = 16;
        with_options.extend_from_slice(&[0, 10, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8, 0, 3, 0, 0]);
        let read = fast(&with_options).expect("the fast path");
        assert_eq!(Ok(read), general(&with_options));
        // A Client Subnet option, whose contents hickory-proto checks, goes to the general path.
        let mut subnet = with_options[..rdlen_at].to_vec();
        subnet.extend_from_slice(&[0, 11, 0, 8, 0, 7, 0, 1, 24, 0, 192, 0, 2]);
        assert_eq!(fast(&subnet), None);
        assert!(general(&subnet).is_ok());
        subnet[rdlen_at + 7] = 9; // no such address family
        assert_eq!(general(&subnet), Err(Refusal::FormErr));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

        /// Every common query is read by the fast path, the same way the general path reads it,
        /// so both give byte-identical answers.
        #[test]
        fn fast_and_general_paths_agree(q in arb_query()) {
            let fast = fast(&q).expect("a one-question query takes the fast path");
            prop_assert_eq!(&fast, &general(&q).unwrap());
            let z = zone();
            let (mut a, mut b) = (Vec::new(), Vec::new());
            prop_assert_eq!(
                z.answer_by(&q, false, crate::Transport::Udp, true, &mut a),
                z.answer_by(&q, true, crate::Transport::Udp, true, &mut b)
            );
            prop_assert_eq!(a, b);
        }

        /// On arbitrary bytes, whatever the fast path accepts the general path reads the same.
        #[test]
        fn fast_path_never_accepts_what_hickory_reads_differently(q in prop::collection::vec(any::<u8>(), 0..80), base in arb_query(), flips in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..4)) {
            for bytes in [q, { let mut b = base; for (i, v) in &flips { let n = b.len(); b[i.index(n)] = *v; } b }] {
                if let Some(f) = fast(&bytes) {
                    prop_assert_eq!(Ok(f), general(&bytes));
                }
            }
        }
    }
}
