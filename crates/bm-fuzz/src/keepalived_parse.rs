//! Fuzzes the keepalived.conf parser: no input may panic, every diagnostic points inside the
//! text, and every instance it returns without errors runs: its configuration is accepted by
//! the core (intervals rounded and clamped as keepalived does land within what the version
//! carries), and every script it returns has words to run.

/// One input.
pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let conf = bm_vrrp::parse_keepalived(text, "f", &mut |_| Ok("vrrp_instance I { virtual_router_id 1 }".into()));
    let lines = text.lines().count().max(1);
    for d in &conf.diagnostics {
        assert!(d.line >= 1 && (d.file != "f" || d.line <= lines), "{d}");
    }
    if !conf.has_errors() {
        for i in &conf.instances {
            let primary =
                if i.config.vips.first().is_some_and(std::net::IpAddr::is_ipv6) { "fe80::1" } else { "10.0.0.1" };
            if let Err(e) = i.config_for(primary.parse().unwrap()) {
                // A unicast_src_ip of the other family, or a peer that is no peer, is the only
                // refusal the parser leaves to the core.
                assert!(
                    matches!(
                        e,
                        bm_vrrp::ConfigError::Vips
                            | bm_vrrp::ConfigError::Peer(_)
                            | bm_vrrp::ConfigError::Primary(_)
                            | bm_vrrp::ConfigError::Version(_)
                            | bm_vrrp::ConfigError::Weight { .. }
                    ),
                    "{e}"
                );
            }
        }
        for s in &conf.scripts {
            assert!(!s.argv.is_empty());
        }
    }
}
