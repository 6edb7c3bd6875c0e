//! Walking a DNS message's records without decoding their data: where each record starts and
//! ends, its owner's offset, its type and class. Enough for the forwarder to check an
//! upstream's reply and cut it to the client's size, without decoding and re-encoding what it
//! relays (which could change it).

use crate::name;

/// One record's place in a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Span {
    /// Where the record (its owner name) starts.
    pub(crate) start: usize,
    /// Where it ends (the next record starts).
    pub(crate) end: usize,
    pub(crate) rtype: u16,
    pub(crate) class: u16,
}

/// The sections of a message.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Layout {
    /// Where the question section ends.
    pub(crate) question_end: usize,
    pub(crate) answer: Vec<Span>,
    pub(crate) authority: Vec<Span>,
    pub(crate) additional: Vec<Span>,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

/// The layout of `msg`, or `None` when a count, a name or a length runs past the end or bytes
/// are left over after the last record.
pub(crate) fn layout(msg: &[u8]) -> Option<Layout> {
    let counts = [u16_at(msg, 4)?, u16_at(msg, 6)?, u16_at(msg, 8)?, u16_at(msg, 10)?];
    let mut at = 12;
    for _ in 0..counts[0] {
        at = name::skip(msg, at)? + 4;
        if at > msg.len() {
            return None;
        }
    }
    let mut layout = Layout { question_end: at, ..Layout::default() };
    for (section, &count) in
        [&mut layout.answer, &mut layout.authority, &mut layout.additional].into_iter().zip(&counts[1..])
    {
        // Each record takes at least 11 bytes: no allocation sized by a forged count.
        section.reserve(usize::from(count).min(msg.len().saturating_sub(at) / 11));
        for _ in 0..count {
            let start = at;
            let fixed = name::skip(msg, at)?;
            let rtype = u16_at(msg, fixed)?;
            let class = u16_at(msg, fixed + 2)?;
            let rdlen = usize::from(u16_at(msg, fixed + 8)?);
            at = fixed + 10 + rdlen;
            if at > msg.len() {
                return None;
            }
            section.push(Span { start, end: at, rtype, class });
        }
    }
    (at == msg.len()).then_some(layout)
}

#[cfg(test)]
mod tests {
    use hickory_proto::op::{Edns, Message, Query};
    use hickory_proto::rr::{Name, RData, Record, RecordType, rdata};

    use super::*;

    #[test]
    fn finds_every_record_of_a_compressed_message() {
        let mut m = Message::query();
        m.metadata.message_type = hickory_proto::op::MessageType::Response;
        let name = Name::from_ascii("www.example.org.").unwrap();
        m.add_query(Query::query(name.clone(), RecordType::A));
        for i in 1..=3u8 {
            m.add_answer(Record::from_rdata(name.clone(), 60, RData::A(rdata::A::new(192, 0, 2, i))));
        }
        m.add_authority(Record::from_rdata(
            Name::from_ascii("example.org.").unwrap(),
            60,
            RData::NS(rdata::NS(Name::from_ascii("ns.example.org.").unwrap())),
        ));
        m.set_edns(Edns::new());
        let bytes = m.to_vec().unwrap();
        let l = layout(&bytes).unwrap();
        assert_eq!(l.answer.len(), 3);
        assert!(l.answer.iter().all(|s| s.rtype == 1 && s.end - s.start == 16), "compressed owners: {l:?}");
        assert_eq!(l.authority[0].rtype, 2);
        assert_eq!(l.additional[0].rtype, 41);
        assert_eq!(l.additional[0].end, bytes.len());
        // Every truncation of it is refused, never a panic.
        for n in 0..bytes.len() {
            assert!(layout(&bytes[..n]).is_none(), "{n}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(layout(&longer).is_none(), "trailing bytes");
    }
}
