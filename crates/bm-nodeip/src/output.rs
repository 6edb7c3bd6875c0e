//! What OpenShift's `nodeip-configuration` writes, byte for byte, rendered without I/O.
//!
//! `runtimecfg node-ip set` writes two systemd drop-ins (ending in a newline) and the
//! `/run/nodeip-configuration` files (no trailing newline), each created with mode 0644 in
//! directories of mode 0755. Consumers: kubelet's unit (`--node-ip=${KUBELET_NODE_IPS}`),
//! CRI-O, configure-ovs, keepalived and CoreDNS monitors.

use std::net::IpAddr;

use bm_addr::Family;
use serde::{Deserialize, Serialize};

/// One file to write, relative to a root (`/` on a real node).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedFile {
    /// Path relative to the root, without a leading `/`.
    pub path: String,
    /// Exact contents.
    pub contents: String,
    /// Permission bits for a new file.
    pub mode: u32,
}

/// `etc/systemd/system/kubelet.service.d/20-nodenet.conf`.
pub const KUBELET_DROPIN: &str = "etc/systemd/system/kubelet.service.d/20-nodenet.conf";
/// `etc/systemd/system/crio.service.d/20-nodenet.conf`.
pub const CRIO_DROPIN: &str = "etc/systemd/system/crio.service.d/20-nodenet.conf";
/// `run/nodeip-configuration/primary-ip`.
pub const PRIMARY_IP_FILE: &str = "run/nodeip-configuration/primary-ip";
/// `run/nodeip-configuration/ipv4`.
pub const IPV4_FILE: &str = "run/nodeip-configuration/ipv4";
/// `run/nodeip-configuration/ipv6`.
pub const IPV6_FILE: &str = "run/nodeip-configuration/ipv6";

/// Renders the files for the chosen IPs, primary first. Empty when nothing was chosen.
///
/// ```
/// let ips = ["192.168.123.200".parse().unwrap(), "fc00::fc1c:1e22:b052:ef48".parse().unwrap()];
/// let files = bm_nodeip::render_files(&ips);
/// assert_eq!(files[0].contents,
///     "[Service]\nEnvironment=\"KUBELET_NODE_IP=192.168.123.200\" \"KUBELET_NODE_IPS=192.168.123.200,fc00::fc1c:1e22:b052:ef48\"\n");
/// ```
pub fn render_files(ips: &[IpAddr]) -> Vec<RenderedFile> {
    let Some(primary) = ips.first() else { return Vec::new() };
    let node_ips: Vec<String> = ips.iter().take(2).map(|ip| ip.to_string()).collect();
    let file = |path: &str, contents: String| RenderedFile { path: path.to_string(), contents, mode: 0o644 };
    let mut out = vec![
        file(
            KUBELET_DROPIN,
            format!(
                "[Service]\nEnvironment=\"KUBELET_NODE_IP={primary}\" \"KUBELET_NODE_IPS={}\"\n",
                node_ips.join(",")
            ),
        ),
        file(CRIO_DROPIN, format!("[Service]\nEnvironment=\"CONTAINER_STREAM_ADDRESS={primary}\"\n")),
        file(PRIMARY_IP_FILE, primary.to_string()),
    ];
    // The first address of each family among the first two.
    for family in [Family::Ipv4, Family::Ipv6] {
        if let Some(ip) = ips.iter().take(2).find(|ip| bm_addr::family_of(**ip) == family) {
            let path = if family == Family::Ipv4 { IPV4_FILE } else { IPV6_FILE };
            out.push(file(path, ip.to_string()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_stack_ipv6() {
        let files = render_files(&["2001:db8::3c".parse().unwrap()]);
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, [KUBELET_DROPIN, CRIO_DROPIN, PRIMARY_IP_FILE, IPV6_FILE]);
        assert_eq!(
            files[0].contents,
            "[Service]\nEnvironment=\"KUBELET_NODE_IP=2001:db8::3c\" \"KUBELET_NODE_IPS=2001:db8::3c\"\n"
        );
        assert_eq!(files[1].contents, "[Service]\nEnvironment=\"CONTAINER_STREAM_ADDRESS=2001:db8::3c\"\n");
        assert_eq!(files[2].contents, "2001:db8::3c");
        assert!(render_files(&[]).is_empty());
    }

    #[test]
    fn dual_stack_ipv6_primary() {
        let files = render_files(&["2001:db8::3c".parse().unwrap(), "192.168.127.172".parse().unwrap()]);
        assert_eq!(
            files[0].contents,
            "[Service]\nEnvironment=\"KUBELET_NODE_IP=2001:db8::3c\" \"KUBELET_NODE_IPS=2001:db8::3c,192.168.127.172\"\n"
        );
        let v4 = files.iter().find(|f| f.path == IPV4_FILE).unwrap();
        assert_eq!(v4.contents, "192.168.127.172");
    }
}
