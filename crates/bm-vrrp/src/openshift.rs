//! The virtual router IDs OpenShift gives a cluster's VIPs: [`OpenShiftVrids`].

use serde::{Deserialize, Serialize};

/// The Fletcher-8 checksum exactly as `baremetal-runtimecfg` computes it: 8-bit sums that wrap
/// at 256 before each modulo 15, the second sum in the high nibble.
///
/// ```
/// // The documented examples: cnf10's API VRID is fletcher8("cnf10-api") + 1 = 147.
/// assert_eq!(bm_vrrp::runtimecfg_fletcher8(b"cnf10-api"), 146);
/// assert_eq!(bm_vrrp::runtimecfg_fletcher8(b"cnf10-dns"), 157);
/// ```
pub fn runtimecfg_fletcher8(input: &[u8]) -> u8 {
    let (mut a, mut b) = (0u8, 0u8);
    for &byte in input {
        // Go: `ckA = (ckA + inp[i]) % 0xf` on uint8, so the sum wraps first.
        a = a.wrapping_add(byte) % 0x0f;
        b = (b + a) % 0x0f;
    }
    (b << 4) | a
}

/// The VRIDs of one OpenShift cluster's keepalived instances (its API and ingress VIPs').
///
/// OpenShift's keepalived configuration is rendered by `baremetal-runtimecfg`, which derives
/// each VIP's `virtual_router_id` from the cluster name (`pkg/config/node.go`, `PopulateVRIDs`):
///
/// ```text
/// api     = FletcherChecksum8(name + "-api") + 1
/// ingress = FletcherChecksum8(name + "-ingress") + 1, plus one more if it equals api
/// ```
///
/// Its Fletcher-8 (`pkg/utils`) adds in Go's `uint8`, which wraps at 256 *before* the modulo
/// 15, and packs the two 4-bit sums into one byte: the largest value is `0xEE`, so VRIDs run
/// from 1 to 239 and only 225 of them occur. Two clusters on one L2 segment collide with a
/// probability of about 1.4 %, and consecutively numbered names often do (`cnf10`'s API VRID is
/// `cnf11`'s ingress VRID, the example of OpenShift's own documentation). The symptom is a
/// bootstrap VIP that never comes up and keepalived logging "received an invalid passwd"
/// (openshift/installer#2966); [`Survey`](crate::Survey) finds the collision on the wire first.
///
/// Older runtimecfg releases also gave a DNS VIP a VRID (`name + "-dns"`); it was removed with
/// the DNS VIP in 2021 and is not computed here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OpenShiftVrids {
    /// The API VIP's (and `api-int`'s) virtual router.
    pub api: u8,
    /// The ingress VIP's (`*.apps`) virtual router.
    pub ingress: u8,
}

/// A cluster name runtimecfg refuses ("Cluster name can't be empty").
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the cluster name is empty")]
pub struct EmptyClusterName;

impl OpenShiftVrids {
    /// The VRIDs `runtimecfg vr-ids NAME` prints for cluster `name` (the install-config's
    /// `metadata.name`).
    ///
    /// ```
    /// use bm_vrrp::OpenShiftVrids;
    /// let cnf10 = OpenShiftVrids::for_cluster("cnf10").unwrap();
    /// let cnf11 = OpenShiftVrids::for_cluster("cnf11").unwrap();
    /// assert_eq!((cnf10.api, cnf10.ingress), (147, 2));
    /// assert_eq!((cnf11.api, cnf11.ingress), (228, 147));
    /// assert!(cnf10.collides_with(&cnf11));
    /// ```
    pub fn for_cluster(name: &str) -> Result<OpenShiftVrids, EmptyClusterName> {
        if name.is_empty() {
            return Err(EmptyClusterName);
        }
        let derive = |suffix: &str| {
            let mut input = Vec::with_capacity(name.len() + suffix.len());
            input.extend_from_slice(name.as_bytes());
            input.extend_from_slice(suffix.as_bytes());
            // At most 0xEE + 1: never overflows, as runtimecfg's comment says.
            runtimecfg_fletcher8(&input) + 1
        };
        let api = derive("-api");
        let mut ingress = derive("-ingress");
        if ingress == api {
            ingress += 1;
        }
        Ok(OpenShiftVrids { api, ingress })
    }

    /// Both VRIDs, API first.
    pub const fn both(&self) -> [u8; 2] {
        [self.api, self.ingress]
    }

    /// Whether two clusters on one segment would share a VRID (in either role).
    pub fn collides_with(&self, other: &OpenShiftVrids) -> bool {
        self.both().iter().any(|v| other.both().contains(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The values OpenShift's documentation prints for `runtimecfg vr-ids` (including the
    /// DNS VRID of the releases that still had one, which checks the checksum on a third input).
    #[test]
    fn documented_values() {
        for (name, api, dns, ingress) in [("cnf10", 147, 158, 2), ("cnf11", 228, 239, 147)] {
            let v = OpenShiftVrids::for_cluster(name).unwrap();
            assert_eq!((v.api, v.ingress), (api, ingress), "{name}");
            assert_eq!(runtimecfg_fletcher8(format!("{name}-dns").as_bytes()) + 1, dns, "{name}");
        }
    }

    /// The research notes' consecutive names: N's API VRID is N+1's ingress VRID.
    #[test]
    fn consecutive_names_collide() {
        for (a, b) in [("cnf4", "cnf5"), ("lab18", "lab19"), ("sno-33", "sno-34")] {
            let (a, b) = (OpenShiftVrids::for_cluster(a).unwrap(), OpenShiftVrids::for_cluster(b).unwrap());
            assert_eq!(a.api, b.ingress);
            assert!(a.collides_with(&b) && b.collides_with(&a));
        }
    }

    #[test]
    fn range_and_distinct_roles() {
        let mut seen = std::collections::BTreeSet::new();
        for byte in 0..=255u8 {
            for len in 1..4 {
                let name: String = std::iter::repeat_n(char::from(byte % 128), len).collect();
                if name.is_empty() {
                    continue;
                }
                let v = OpenShiftVrids::for_cluster(&name).unwrap();
                assert!((1..=240).contains(&v.api) && (1..=240).contains(&v.ingress), "{name:?}: {v:?}");
                assert_ne!(v.api, v.ingress);
                seen.insert(v.api);
            }
        }
        // The checksum's nibbles never reach 15: 0xF_ and 0x_F never occur, so 225 values.
        for vrid in seen {
            let f = vrid - 1;
            assert!(f >> 4 != 0x0f && f & 0x0f != 0x0f, "{vrid}");
        }
        assert_eq!(OpenShiftVrids::for_cluster(""), Err(EmptyClusterName));
    }

    /// Wrapping before the modulo matters for bytes above 240 (non-ASCII names in UTF-8).
    #[test]
    fn wraps_like_go_uint8() {
        // a = 0xF5 % 15 = 5, b = 5; then 5 + 0xFF wraps to 4, so a = 4 (unwrapped: 260 % 15 = 5)
        // and b = (5 + 4) % 15 = 9.
        assert_eq!(runtimecfg_fletcher8(&[0xF5, 0xFF]), 0x94);
    }
}
