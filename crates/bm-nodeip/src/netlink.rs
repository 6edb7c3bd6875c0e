//! The netlink backend: a `HostSnapshot` of the current network namespace.
