//! An upstream's reply on its way to the client: checked against the question asked, given the
//! client's ID back, and cut to what the client can take.
//!
//! A UDP client gets at most 512 bytes without EDNS, and at most its advertised payload (capped
//! by ours) with EDNS (RFC 1035 §4.2.1, RFC 6891 §7); anything larger would be lost to
//! fragmentation or make the server an amplifier. A reply that does not fit keeps the whole
//! answer RRsets that do and sets TC, so the client comes back over TCP (RFC 2181 §9). A client
//! without EDNS never gets an OPT record (RFC 6891 §7).

use crate::message::{self, Span};
use crate::name::{self, MAX_NAME};
use crate::zone::rtype;

/// A reply whose records run past its end, or with bytes left over: not relayed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Malformed;

/// Whether `reply` is a response to `question` (the question section as the client sent it:
/// name, type, class): QR set, opcode QUERY, one question, the same name ignoring case, the
/// same type and class.
pub(crate) fn answers(reply: &[u8], question: &[u8]) -> bool {
    if reply.len() < 12 + question.len() || reply[2] & 0x80 == 0 || (reply[2] >> 3) & 0x0f != 0 {
        return false;
    }
    if reply[4..6] != [0, 1] {
        return false;
    }
    // The question's name is never compressed (a pointer could only point into the header), so
    // a byte comparison ignoring ASCII case is exact; length bytes are below 64 and unaffected.
    reply[12..12 + question.len()].eq_ignore_ascii_case(question)
}

/// What the client can take.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Fit {
    /// The client's own message ID, restored.
    pub(crate) id: u16,
    /// The most bytes the reply may have.
    pub(crate) limit: usize,
    /// Whether the client sent EDNS (else no OPT goes back).
    pub(crate) edns: bool,
    /// Our EDNS payload, advertised in the OPT we send back.
    pub(crate) payload: u16,
}

/// Writes `reply`, fitted to the client, into `out`. `Ok(true)` when it had to be truncated.
pub(crate) fn fit(reply: &[u8], f: Fit, out: &mut Vec<u8>) -> Result<bool, Malformed> {
    let layout = message::layout(reply).ok_or(Malformed)?;
    let opt = layout.additional.iter().position(|s| s.rtype == rtype::OPT);
    out.clear();
    out.extend_from_slice(reply);
    out[..2].copy_from_slice(&f.id.to_be_bytes());
    match (opt, f.edns) {
        (Some(i), true) => {
            let s = layout.additional[i];
            let class_at = name::skip(reply, s.start).ok_or(Malformed)? + 2;
            out[class_at..class_at + 2].copy_from_slice(&f.payload.to_be_bytes());
        }
        (Some(i), false) => {
            // Nothing may point into an OPT record, but records after it could point anywhere
            // before them: the additional section is cut at the OPT, keeping what precedes it.
            out.truncate(layout.additional[i].start);
            out[10..12].copy_from_slice(&(i as u16).to_be_bytes());
        }
        (None, _) => {}
    }
    if out.len() <= f.limit {
        return Ok(false);
    }
    truncate(reply, &layout, opt.map(|i| layout.additional[i]).filter(|_| f.edns), f, out);
    Ok(true)
}

/// The header and question, the answer section's leading RRsets that fit whole, and the OPT
/// (without options) when the client sent EDNS; TC set, counts to match.
fn truncate(reply: &[u8], layout: &message::Layout, opt: Option<Span>, f: Fit, out: &mut Vec<u8>) {
    const OPT_LEN: usize = 11;
    let room = f.limit - if opt.is_some() { OPT_LEN } else { 0 };
    out.clear();
    out.extend_from_slice(&reply[..layout.question_end]);
    out[..2].copy_from_slice(&f.id.to_be_bytes());
    out[2] |= 0x02;
    let mut kept = 0u16;
    let mut at = 0;
    while at < layout.answer.len() {
        let end = rrset_end(reply, &layout.answer, at);
        let bytes = layout.answer[end - 1].end - layout.answer[at].start;
        if out.len() + bytes > room {
            break;
        }
        // Compression pointers only point backwards, into what is already copied.
        out.extend_from_slice(&reply[layout.answer[at].start..layout.answer[end - 1].end]);
        kept += (end - at) as u16;
        at = end;
    }
    let mut ar = 0u16;
    if let Some(s) = opt {
        let fixed = name::skip(reply, s.start).unwrap_or(s.start + 1);
        out.push(0);
        out.extend_from_slice(&rtype::OPT.to_be_bytes());
        out.extend_from_slice(&f.payload.to_be_bytes());
        // Extended RCODE, version and flags (DO) as the upstream sent them; no options.
        out.extend_from_slice(&reply[fixed + 4..fixed + 8]);
        out.extend_from_slice(&[0, 0]);
        ar = 1;
    }
    out[6..8].copy_from_slice(&kept.to_be_bytes());
    out[8..12].copy_from_slice(&[0, 0, ar.to_be_bytes()[0], ar.to_be_bytes()[1]]);
}

/// The index past the RRset that starts at `records[at]`: the records after it with the same
/// owner (ignoring case), type and class.
fn rrset_end(msg: &[u8], records: &[Span], at: usize) -> usize {
    let mut first = [0u8; MAX_NAME];
    let mut other = [0u8; MAX_NAME];
    let Some(owner) = name::read_compressed_lower(msg, records[at].start, &mut first) else { return at + 1 };
    let mut same = |s: &Span| {
        s.rtype == records[at].rtype
            && s.class == records[at].class
            && name::read_compressed_lower(msg, s.start, &mut other).is_some_and(|o| o == owner)
    };
    let mut end = at + 1;
    while end < records.len() && same(&records[end]) {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, MessageType, Query};
    use hickory_proto::rr::{Name, RData, Record, RecordType, rdata};
    use proptest::prelude::*;

    use super::*;

    fn question_of(query: &[u8]) -> Vec<u8> {
        let end = name::skip(query, 12).unwrap() + 4;
        query[12..end].to_vec()
    }

    /// A response to `name`/TXT with `sets` RRsets of `per_set` TXT records each (each set its
    /// own owner, below `name`'s parent... the first owned by `name`), an NS in authority, an A
    /// in additional, and an OPT when `edns`.
    fn reply(name: &str, sets: usize, per_set: usize, edns: bool) -> Vec<u8> {
        let mut m = Message::query();
        m.metadata.message_type = MessageType::Response;
        m.metadata.id = 0x4242;
        let qname = Name::from_ascii(name).unwrap();
        m.add_query(Query::query(qname.clone(), RecordType::TXT));
        for set in 0..sets {
            let owner = if set == 0 { qname.clone() } else { Name::from_ascii(format!("s{set}.{name}")).unwrap() };
            for i in 0..per_set {
                let text = format!("{set}-{i}-{}", "x".repeat(40));
                m.add_answer(Record::from_rdata(owner.clone(), 60, RData::TXT(rdata::TXT::new(vec![text]))));
            }
        }
        m.add_authority(Record::from_rdata(
            Name::from_ascii("example.org.").unwrap(),
            60,
            RData::NS(rdata::NS(Name::from_ascii("ns.example.org.").unwrap())),
        ));
        m.add_additional(Record::from_rdata(
            Name::from_ascii("ns.example.org.").unwrap(),
            60,
            RData::A(rdata::A::new(192, 0, 2, 1)),
        ));
        if edns {
            let mut e = Edns::new();
            e.set_max_payload(4096).set_dnssec_ok(true);
            m.set_edns(e);
        }
        m.to_vec().unwrap()
    }

    #[test]
    fn question_must_match_ignoring_case() {
        let mut q = Message::query();
        q.add_query(Query::query(Name::from_ascii("WwW.Example.ORG.").unwrap(), RecordType::TXT));
        let question = question_of(&q.to_vec().unwrap());
        let r = reply("www.example.org.", 1, 1, false);
        assert!(answers(&r, &question));
        assert!(!answers(&reply("www.example.net.", 1, 1, false), &question), "another name");
        let mut other_type = r.clone();
        let t = 12 + question.len() - 4;
        other_type[t + 1] = 1;
        assert!(!answers(&other_type, &question), "another type");
        let mut query_bit = r.clone();
        query_bit[2] &= 0x7f;
        assert!(!answers(&query_bit, &question), "QR clear");
        assert!(!answers(&r[..20], &question), "short");
    }

    #[test]
    fn fits_pass_unchanged_but_for_the_id() {
        let r = reply("www.example.org.", 2, 2, true);
        let mut out = Vec::new();
        let f = Fit { id: 7, limit: 4096, edns: true, payload: 1232 };
        assert_eq!(fit(&r, f, &mut out), Ok(false));
        let m = Message::from_vec(&out).unwrap();
        assert_eq!(m.metadata.id, 7);
        assert_eq!(m.answers.len(), 4);
        assert_eq!(m.edns.as_ref().unwrap().max_payload(), 1232, "our payload, not the upstream's");
        assert!(m.edns.unwrap().flags().dnssec_ok);
    }

    #[test]
    fn a_client_without_edns_gets_no_opt_and_at_most_512_bytes() {
        let r = reply("www.example.org.", 3, 4, true);
        assert!(r.len() > 512);
        let mut out = Vec::new();
        let f = Fit { id: 9, limit: 512, edns: false, payload: 1232 };
        assert_eq!(fit(&r, f, &mut out), Ok(true));
        assert!(out.len() <= 512);
        let m = Message::from_vec(&out).unwrap();
        assert!(m.metadata.truncation);
        assert!(m.edns.is_none());
        assert!(m.authorities.is_empty() && m.additionals.is_empty());
        // Whole RRsets: 4 records of the first set fit (about 70 bytes each), the second does not.
        assert_eq!(m.answers.len() % 4, 0, "{}", m.answers.len());
        assert!(!m.answers.is_empty());
        // Small enough without the OPT: additional cut at the OPT, nothing truncated.
        let small = reply("www.example.org.", 1, 1, true);
        assert_eq!(fit(&small, f, &mut out), Ok(false));
        let m = Message::from_vec(&out).unwrap();
        assert!(m.edns.is_none() && !m.metadata.truncation);
        assert_eq!(m.additionals.len(), 1, "the A before the OPT stays");
    }

    #[test]
    fn nothing_fits_question_only() {
        let r = reply("www.example.org.", 1, 30, true);
        let mut out = Vec::new();
        let f = Fit { id: 1, limit: 512, edns: true, payload: 1232 };
        assert_eq!(fit(&r, f, &mut out), Ok(true));
        let m = Message::from_vec(&out).unwrap();
        assert!(m.metadata.truncation && m.answers.is_empty());
        assert_eq!(m.edns.unwrap().max_payload(), 1232);
    }

    #[test]
    fn malformed_replies_are_refused() {
        let r = reply("www.example.org.", 1, 2, true);
        let mut out = Vec::new();
        let f = Fit { id: 1, limit: 512, edns: true, payload: 1232 };
        assert_eq!(fit(&r[..r.len() - 3], f, &mut out), Err(Malformed));
    }

    proptest! {
        /// Whatever the reply and the limit, the result fits, parses, has the client's ID,
        /// carries only whole leading RRsets of the answer, and says TC exactly when records
        /// were lost.
        #[test]
        fn fitted_replies_fit_and_parse(sets in 0usize..6, per_set in 1usize..6, edns_reply in any::<bool>(),
                                        edns_client in any::<bool>(), limit in 512usize..2048, id in any::<u16>()) {
            let r = reply("a.example.org.", sets, per_set, edns_reply);
            let mut out = Vec::new();
            let f = Fit { id, limit, edns: edns_client, payload: 1232 };
            let truncated = fit(&r, f, &mut out).unwrap();
            prop_assert!(out.len() <= limit);
            let m = Message::from_vec(&out).unwrap();
            prop_assert_eq!(m.metadata.id, id);
            prop_assert_eq!(m.metadata.truncation, truncated);
            prop_assert_eq!(m.edns.is_some(), edns_client && edns_reply);
            prop_assert_eq!(m.answers.len() % per_set, 0);
            if !truncated {
                prop_assert_eq!(m.answers.len(), sets * per_set);
            }
        }
    }
}
