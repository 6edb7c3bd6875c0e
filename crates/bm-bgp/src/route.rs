//! What one of our routes carries beyond what the session puts on every route.

use serde::{Deserialize, Serialize};

use crate::config::MAX_COMMUNITY_BYTES;
use crate::message::{Community, LargeCommunity};

/// Attributes of one announced prefix, added to the session's own ([`Config::communities`]
/// and [`Config::large_communities`](crate::Config::large_communities) come first, then these,
/// without repeats). Prefixes with equal attributes share UPDATEs.
///
/// [`Config::communities`]: crate::Config::communities
///
/// ```
/// use bm_bgp::RouteAttributes;
/// use bm_bgp::message::Community;
///
/// let api = RouteAttributes { med: Some(80), communities: vec![Community::new(64512, 10)], ..Default::default() };
/// assert!(api.validate().is_ok());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RouteAttributes {
    /// MULTI_EXIT_DISC: lower is preferred; a router spreads traffic (ECMP) only over paths
    /// with equal MEDs from one neighbouring AS.
    #[serde(default)]
    pub med: Option<u32>,
    /// COMMUNITIES on this route.
    #[serde(default)]
    pub communities: Vec<Community>,
    /// LARGE_COMMUNITY on this route.
    #[serde(default)]
    pub large_communities: Vec<LargeCommunity>,
}

impl RouteAttributes {
    /// Whether they fit an UPDATE: at most [`MAX_COMMUNITY_BYTES`] of communities (with the
    /// session's own, checked again when announced).
    ///
    /// # Errors
    ///
    /// The byte count when over.
    pub fn validate(&self) -> Result<(), usize> {
        let bytes = self.community_bytes();
        if bytes > MAX_COMMUNITY_BYTES { Err(bytes) } else { Ok(()) }
    }

    pub(crate) fn community_bytes(&self) -> usize {
        self.communities.len() * 4 + self.large_communities.len() * 12
    }
}

/// `first` then the members of `then` not in it, in order.
pub(crate) fn merged<T: PartialEq + Copy>(first: &[T], then: &[T]) -> Vec<T> {
    let mut out = first.to_vec();
    for t in then {
        if !out.contains(t) {
            out.push(*t);
        }
    }
    out
}
