//! An instance's counters: adverts accepted and sent, failed sends, failed VIP changes, and
//! every drop by its [`DropKind`]. They are exact (logs of drops are rate-limited, the counts
//! are not), and the status file and `bmnet inspect` show them.

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::packet::DropKind;

/// Drops by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropKind::ALL.len()]);

impl DropCounts {
    /// Drops of `kind`.
    pub fn get(&self, kind: DropKind) -> u64 {
        self.0[kind.index()]
    }

    /// Every drop.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// The kinds seen, with their counts.
    pub fn iter(&self) -> impl Iterator<Item = (DropKind, u64)> + '_ {
        DropKind::ALL.into_iter().map(|k| (k, self.get(k))).filter(|(_, n)| *n > 0)
    }

    pub(crate) fn count(&mut self, kind: DropKind) {
        self.0[kind.index()] += 1;
    }
}

/// A map of the kinds seen: `{"not_a_peer": 12, "ttl": 1}`.
impl Serialize for DropCounts {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        for (kind, n) in self.iter() {
            map.serialize_entry(&kind, &n)?;
        }
        map.end()
    }
}

/// The map [`DropCounts`] serializes to, read back (a kind this build does not know is an
/// error: status files are read by the bmnet that wrote them).
impl<'de> Deserialize<'de> for DropCounts {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Counts;
        impl<'de> Visitor<'de> for Counts {
            type Value = DropCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map of drop kinds to counts")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DropCounts, A::Error> {
                let mut counts = DropCounts::default();
                while let Some((kind, n)) = map.next_entry::<DropKind, u64>()? {
                    counts.0[kind.index()] = n;
                }
                Ok(counts)
            }
        }
        d.deserialize_map(Counts)
    }
}

/// One instance's counters since it was built.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Adverts that passed every check.
    pub adverts_accepted: u64,
    /// Adverts dropped, by reason.
    pub drops: DropCounts,
    /// Adverts handed out to be sent (one per destination).
    pub adverts_sent: u64,
    /// Of those, reported as failed.
    pub send_failures: u64,
    /// Advert rounds in a row (an advert to the group, or one to each unicast peer) in which
    /// every send failed, since one went out.
    pub consecutive_failed_rounds: u32,
    /// The last send error reported.
    pub last_send_error: Option<String>,
    /// VIP additions or removals reported as failed (each is retried).
    pub vip_failures: u64,
    /// The last such error.
    pub last_vip_error: Option<String>,
    /// State changes.
    pub transitions: u64,
    /// Adverts that could not be encoded. [`Config::validate`](crate::Config::validate)
    /// refuses every configuration that would produce one, so this stays 0; it exists so that
    /// such a failure could never go unseen.
    pub encode_failures: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_serialize_as_the_kinds_seen() {
        let mut d = DropCounts::default();
        d.count(DropKind::NotAPeer);
        d.count(DropKind::NotAPeer);
        d.count(DropKind::Ttl);
        assert_eq!(serde_json::to_string(&d).unwrap(), r#"{"ttl":1,"not_a_peer":2}"#);
        assert_eq!((d.total(), d.get(DropKind::Checksum)), (3, 0));
        let back: DropCounts = serde_json::from_str(r#"{"ttl":1,"not_a_peer":2}"#).unwrap();
        assert_eq!(back, d);
        assert!(serde_json::from_str::<DropCounts>(r#"{"no_such_kind":1}"#).is_err());
    }
}
