//! Fuzzes reading an OpenShift `install-config.yaml` into the cluster `bmnet preflight` checks
//! (`bm_preflight::InstallConfig` → `ClusterSpec`) and the checks that need no wire.
//!
//! No input may panic; a cluster read reads back the same from its JSON; every VIP is in the
//! spec once per role as the file gave it; `problems()` never panics and each problem reads
//! back from its JSON.

use bm_preflight::{ClusterSpec, InstallConfig, SpecProblem};

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(ic) = serde_yaml_ng::from_str::<InstallConfig>(text) else { return };
    let spec = ClusterSpec::from(ic);
    let json = serde_json::to_string(&spec).expect("a spec serializes");
    assert_eq!(serde_json::from_str::<ClusterSpec>(&json).expect("and reads back"), spec);
    for (i, vip) in spec.api_vips.iter().enumerate() {
        assert!(
            !spec.api_vips[..i].contains(vip)
                || spec.problems().iter().any(|p| matches!(p, SpecProblem::DuplicateVip { .. }))
        );
    }
    let problems = spec.problems();
    let json = serde_json::to_string(&problems).expect("problems serialize");
    assert_eq!(serde_json::from_str::<Vec<SpecProblem>>(&json).expect("and read back"), problems);
    for p in &problems {
        assert!(!p.to_string().is_empty());
    }
}
