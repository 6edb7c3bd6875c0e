//! Opening and binding the socket a [`BindTarget`] describes (feature `socket`).
//!
//! This is the only module that does I/O: it creates a socket, sets `IPV6_V6ONLY` explicitly,
//! resolves an interface-name zone to its index through `/sys/class/net/<name>/ifindex`, and
//! binds.

// The one I/O module of bm-addr, behind the `socket` feature.
#![allow(clippy::disallowed_methods)]

use std::io;
use std::net::SocketAddr;

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::{BindTarget, Family};

/// The transport to open.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    /// `SOCK_STREAM`, TCP.
    Tcp,
    /// `SOCK_DGRAM`, UDP.
    Udp,
}

impl BindTarget {
    /// Opens a socket of the right family, sets `IPV6_V6ONLY` for IPv6 and binds it. TCP
    /// sockets are not put into listening state; call [`Socket::listen`].
    ///
    /// ```
    /// use bm_addr::{BindTarget, Transport};
    /// let t = BindTarget::new("::ffff:127.0.0.1".parse().unwrap(), 0).unwrap();
    /// let sock = t.bind(Transport::Tcp).unwrap();
    /// assert!(sock.local_addr().unwrap().as_socket_ipv4().is_some()); // AF_INET, not EINVAL
    /// ```
    pub fn bind(&self, transport: Transport) -> io::Result<Socket> {
        let (ty, proto) = match transport {
            Transport::Tcp => (Type::STREAM, Protocol::TCP),
            Transport::Udp => (Type::DGRAM, Protocol::UDP),
        };
        let domain = match self.family {
            Family::Ipv4 => Domain::IPV4,
            Family::Ipv6 => Domain::IPV6,
        };
        let socket = Socket::new(domain, ty, Some(proto))?;
        let mut addr = self.addr;
        if let SocketAddr::V6(sa) = &mut addr {
            socket.set_only_v6(self.v6only)?;
            if sa.scope_id() == 0
                && let Some(zone) = self.zone
            {
                sa.set_scope_id(interface_index(zone.as_str())?);
            }
        }
        socket.bind(&SockAddr::from(addr))?;
        Ok(socket)
    }
}

/// The index of the interface `name`, from sysfs (no `unsafe`, no `if_nametoindex`).
pub fn interface_index(name: &str) -> io::Result<u32> {
    let path = format!("/sys/class/net/{name}/ifindex");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("zone {name:?}: no such interface ({path}: {e})")))?;
    text.trim().parse().map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{path}: {e}")))
}
