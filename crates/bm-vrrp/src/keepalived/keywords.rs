//! The keepalived 2.2.7 keywords bmnet does not implement, each with what bmnet does about it.
//! The lists come from keepalived.conf(5) of the installed 2.2.7 (Debian 12); a keyword that
//! would change behaviour or security is refused, so that no file runs differently under bmnet
//! than under keepalived without a word. A keyword keepalived does not know either is only
//! warned about: keepalived ignores it too ("Unknown keyword").

use super::Severity;

/// What bmnet does with one keyword it does not implement.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Unimplemented {
    /// It changes behaviour or security: an error.
    Refused,
    /// It has no effect on VRRP as bmnet runs it: a warning saying why.
    NoEffect(&'static str),
    /// Fine with keepalived's default value (the first argument equal to this number), which
    /// changes nothing; refused with any other.
    DefaultOnly(f64),
    /// Fine as an explicit "off" (`false`, `off`, `no`); refused when on.
    OffOnly,
}

use Unimplemented::{DefaultOnly, NoEffect, OffOnly, Refused};

/// Other daemons' keywords (checker, BFD, LVS): bmnet runs neither.
fn other_daemon(keyword: &str) -> bool {
    ["checker_", "bfd_", "lvs_", "smtp_alert_checker", "no_checker_emails", "rs_init_notifies", "nftables_ipvs"]
        .iter()
        .any(|p| keyword.starts_with(p))
}

/// `global_defs`.
pub(super) fn global(keyword: &str) -> Option<Unimplemented> {
    if other_daemon(keyword) {
        return Some(NoEffect("it configures keepalived's checker, BFD or LVS, which bmnet does not run"));
    }
    Some(match keyword {
        "vrrp_strict"
        | "vrrp_mcast_group4"
        | "vrrp_mcast_group6"
        | "vrrp_startup_delay"
        | "vrrp_min_garp"
        | "vrrp_garp_extra_if"
        | "vrrp_notify_fifo"
        | "vrrp_notify_fifo_script"
        | "notify_fifo"
        | "notify_fifo_script"
        | "fifo_write_vrrp_states_on_reload"
        | "vrrp_notify_priority_changes"
        | "vrrp_iptables"
        | "vrrp_ipsets"
        | "nftables"
        | "nftables_priority"
        | "nftables_ifindex"
        | "nftables_counters"
        | "disable_local_igmp"
        | "smtp_alert"
        | "smtp_alert_vrrp"
        | "no_email_faults"
        | "startup_script"
        | "startup_script_timeout"
        | "shutdown_script"
        | "shutdown_script_timeout"
        | "net_namespace"
        | "net_namespace_ipvs"
        | "namespace_with_ipsets"
        | "use_pid_dir"
        | "default_interface"
        | "dynamic_interfaces"
        | "enable_dbus"
        | "dbus_service_name"
        | "enable_snmp_vrrp"
        | "enable_snmp_keepalived"
        | "enable_snmp_rfc"
        | "enable_snmp_rfcv2"
        | "enable_snmp_rfcv3"
        | "enable_traps"
        | "snmp_socket"
        | "reload_time_file"
        | "reload_repeat"
        | "reload_file" => Refused,
        "vrrp_lower_prio_no_advert" => OffOnly,
        "vrrp_garp_master_refresh_repeat" => DefaultOnly(1.0),
        "vrrp_garp_interval" | "vrrp_gna_interval" => DefaultOnly(0.0),
        "max_auto_priority"
        | "min_auto_priority_delay"
        | "vrrp_priority"
        | "vrrp_rt_priority"
        | "vrrp_rlimit_rttime"
        | "vrrp_no_swap"
        | "vrrp_cpu_affinity" => NoEffect("bmnet runs no realtime scheduler and sets no process priority or affinity"),
        "vrrp_process_name"
        | "process_names"
        | "child_wait_time"
        | "instance"
        | "data_use_instance"
        | "config_save_dir"
        | "tmp_config_directory"
        | "umask"
        | "random_seed"
        | "include_check" => NoEffect("it concerns keepalived's processes and files, not the VRRP bmnet runs"),
        "vrrp_rx_bufs_policy"
        | "vrrp_rx_bufs_multiplier"
        | "vrrp_netlink_cmd_rcv_bufs"
        | "vrrp_netlink_cmd_rcv_bufs_force"
        | "vrrp_netlink_monitor_rcv_bufs"
        | "vrrp_netlink_monitor_rcv_bufs_force"
        | "process_monitor_rcv_bufs"
        | "process_monitor_rcv_bufs_force"
        | "linkbeat_use_polling" => NoEffect("bmnet sizes its own socket buffers and watches links over netlink"),
        "log_unknown_vrids" => NoEffect("bmnet counts adverts for unknown VRIDs (bmnet inspect) without logging them"),
        "reload_check_config" => NoEffect("bmnet always checks a configuration before reloading it"),
        "vmac_prefix" | "vmac_addr_prefix" => NoEffect("bmnet runs no VMACs (use_vmac is refused)"),
        _ => return None,
    })
}

/// `vrrp_instance`.
pub(super) fn instance(keyword: &str) -> Option<Unimplemented> {
    Some(match keyword {
        "use_vmac"
        | "vmac_xmit_base"
        | "use_ipvlan"
        | "use_vmac_addr"
        | "accept"
        | "strict_mode"
        | "mcast_dst_ip"
        | "track_file"
        | "track_process"
        | "track_bfd"
        | "track_src_ip"
        | "virtual_ipaddress_excluded"
        | "virtual_routes"
        | "virtual_rules"
        | "old_unicast_checksum"
        | "unicast_fault_no_peer"
        | "notify_master_rx_lower_pri"
        | "notify_priority_changes"
        | "notify_deleted"
        | "smtp_alert"
        | "promote_secondaries"
        | "dont_track_primary"
        | "native_ipv6"
        | "garp_extra_if"
        | "vrf"
        | "interface_up_down_delays"
        | "sync_group_tracking_weight"
        | "kernel_rx_buf_size" => Refused,
        "lower_prio_no_advert" => OffOnly,
        "garp_master_refresh_repeat" => DefaultOnly(1.0),
        "garp_interval" | "gna_interval" => DefaultOnly(0.0),
        "unicast_ttl" => DefaultOnly(255.0),
        "no_accept" => NoEffect("bmnet never filters traffic to the VIPs, and a backup does not hold them"),
        "debug" => NoEffect("bmnet's logs do not depend on it"),
        "linkbeat_use_polling" => NoEffect("bmnet watches links over netlink"),
        _ => return None,
    })
}

/// `vrrp_script`.
pub(super) fn script(keyword: &str) -> Option<Unimplemented> {
    Some(match keyword {
        "init_fail" => Refused,
        _ => return None,
    })
}

/// Top-level blocks.
pub(super) fn top(keyword: &str) -> Option<Unimplemented> {
    if other_daemon(keyword) {
        return Some(NoEffect("it configures keepalived's checker, BFD or LVS, which bmnet does not run"));
    }
    Some(match keyword {
        "vrrp_sync_group"
        | "virtual_server"
        | "virtual_server_group"
        | "static_ipaddress"
        | "static_routes"
        | "static_rules"
        | "garp_group" => Refused,
        "vrrp_track_process"
        | "track_process"
        | "track_file"
        | "vrrp_track_file"
        | "bfd_instance"
        | "linkbeat_interfaces" => NoEffect("bmnet tracks none of these; an instance that tracks one is refused"),
        _ => return None,
    })
}

/// The finding for `keyword` used with `first_arg`, if it is one bmnet does not implement.
pub(super) fn judge(kind: Option<Unimplemented>, keyword: &str, first_arg: Option<&str>) -> Option<(Severity, String)> {
    let refused =
        || (Severity::Error, format!("{keyword} changes behaviour or security and is not supported by bmnet"));
    Some(match kind? {
        Refused => refused(),
        NoEffect(why) => (Severity::Warning, format!("{keyword} has no effect in bmnet: {why}")),
        DefaultOnly(default) => {
            if first_arg.and_then(|a| a.parse::<f64>().ok()) == Some(default) {
                return None;
            }
            (
                Severity::Error,
                format!(
                    "{keyword} other than keepalived's default {default} changes behaviour and is not supported by bmnet"
                ),
            )
        }
        OffOnly => {
            if matches!(first_arg, Some("false" | "off" | "no")) {
                return None;
            }
            refused()
        }
    })
}
