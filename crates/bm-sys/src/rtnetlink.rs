//! rtnetlink (`NETLINK_ROUTE`) for bmnet's backends:
//!
//! - dumps ([`Connection::dump`]) with the rules a correct reader needs: a dump the kernel marks
//!   inconsistent (`NLM_F_DUMP_INTR`), a receive-queue overrun (`ENOBUFS`, `NLMSG_OVERRUN`) or a
//!   datagram larger than the receive buffer (seen with `MSG_TRUNC`; the buffer is grown)
//!   restarts the dump, a bounded number of times;
//! - address changes ([`Connection::add_address`], [`Connection::remove_address`]), each
//!   acknowledged by the kernel;
//! - a subscription to link and address changes ([`Monitor`]), read without blocking, that
//!   says when notifications were lost.
//!
//! Kernel errors carry their extended-ack text. The wire layer is `netlink-packet-core` and
//! `netlink-packet-route`; what the messages mean is the caller's (`bm-nodeip` reads them into a
//! host snapshot, `bm-vrrp` into its links and addresses).

use std::fmt;
use std::io;
use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd};

pub use netlink_packet_core::DecodeError;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REPLACE, NLM_F_REQUEST,
    NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, NetlinkBuffer, NetlinkHeader, NetlinkMessage, NetlinkPayload,
    NlasIterator, parse_i32, parse_string, parse_u32,
};
use netlink_packet_route::address::{AddressAttribute, AddressFlags, AddressMessage, AddressScope};
use netlink_packet_route::link::{LinkAttribute, LinkExtentMask, LinkMessage};
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

/// Which of the three dumps a [`Error`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Dump {
    /// `RTM_GETLINK`.
    Links,
    /// `RTM_GETADDR`.
    Addresses,
    /// `RTM_GETROUTE`.
    Routes,
}

impl Dump {
    /// The message type of the dump's replies.
    fn reply_type(self) -> u16 {
        match self {
            Dump::Links => RTM_NEWLINK,
            Dump::Addresses => RTM_NEWADDR,
            Dump::Routes => RTM_NEWROUTE,
        }
    }
}

impl fmt::Display for Dump {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Dump::Links => "link dump (RTM_GETLINK)",
            Dump::Addresses => "address dump (RTM_GETADDR)",
            Dump::Routes => "route dump (RTM_GETROUTE)",
        })
    }
}

/// An address change asked of the kernel, which a [`Error`] is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Change {
    /// `RTM_NEWADDR`.
    AddAddress,
    /// `RTM_DELADDR`.
    RemoveAddress,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Change::AddAddress => "adding an address (RTM_NEWADDR)",
            Change::RemoveAddress => "removing an address (RTM_DELADDR)",
        })
    }
}

/// Why a dump was restarted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Retry {
    /// The kernel flagged the dump `NLM_F_DUMP_INTR`: the table changed while it was being read.
    Interrupted,
    /// The socket's receive queue overflowed (`ENOBUFS`, or an `NLMSG_OVERRUN` message).
    Overrun,
    /// A datagram was larger than the receive buffer; the buffer was grown.
    Truncated,
}

impl fmt::Display for Retry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Retry::Interrupted => "the table kept changing while it was dumped (NLM_F_DUMP_INTR)",
            Retry::Overrun => "the socket's receive queue overflowed (ENOBUFS)",
            Retry::Truncated => "a datagram did not fit the receive buffer",
        })
    }
}

/// Why a dump failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The `NETLINK_ROUTE` socket could not be opened, bound or connected.
    #[error("cannot open a NETLINK_ROUTE socket: {0}")]
    Socket(#[source] io::Error),
    /// Sending a dump request or receiving its answer failed.
    #[error("{dump}: {op} failed: {source}")]
    Io {
        /// The dump.
        dump: Dump,
        /// `send` or `recv`.
        op: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The kernel answered with an error (`NLMSG_ERROR`, or `NLMSG_DONE` with a negative code).
    #[error("{dump}: the kernel answered {}{}", io::Error::from_raw_os_error(*errno), extack_suffix(extack))]
    Kernel {
        /// The dump.
        dump: Dump,
        /// The (positive) errno.
        errno: i32,
        /// The extended-ack message, if the kernel sent one.
        extack: Option<String>,
    },
    /// The dump had to be restarted more times than allowed.
    #[error("{dump}: gave up after {attempts} attempts: {reason}")]
    Retries {
        /// The dump.
        dump: Dump,
        /// How many times it was tried.
        attempts: u32,
        /// Why the last attempt failed.
        reason: Retry,
    },
    /// A message of the dump could not be decoded.
    #[error("{dump}: malformed message: {reason}")]
    Decode {
        /// The dump.
        dump: Dump,
        /// What was wrong with it.
        reason: String,
    },
    /// Sending a change or receiving its acknowledgement failed.
    #[error("{change}: {op} failed: {source}")]
    ChangeIo {
        /// The change.
        change: Change,
        /// `send` or `recv`.
        op: &'static str,
        /// The system error.
        #[source]
        source: io::Error,
    },
    /// The kernel refused a change (`NLMSG_ERROR` with a negative code).
    #[error("{change}: the kernel answered {}{}", io::Error::from_raw_os_error(*errno), extack_suffix(extack))]
    Refused {
        /// The change.
        change: Change,
        /// The (positive) errno.
        errno: i32,
        /// The extended-ack message, if the kernel sent one.
        extack: Option<String>,
    },
    /// The acknowledgement of a change could not be decoded.
    #[error("{change}: malformed acknowledgement: {reason}")]
    ChangeDecode {
        /// The change.
        change: Change,
        /// What was wrong with it.
        reason: String,
    },
    /// Reading link and address notifications failed.
    #[error("link and address notifications: recv failed: {0}")]
    Notifications(#[source] io::Error),
    /// Link and address notifications were lost: the subscription's receive queue overflowed
    /// (`ENOBUFS`). What they said must be read again with dumps.
    #[error("link and address notifications were lost: the socket's receive queue overflowed (ENOBUFS)")]
    NotificationsLost,
}

fn extack_suffix(extack: &Option<String>) -> String {
    extack.as_deref().map(|m| format!(" ({m})")).unwrap_or_default()
}

/// How many times one dump is tried before [`Error::Retries`].
const MAX_ATTEMPTS: u32 = 5;
/// Initial receive buffer. The kernel fills dump datagrams up to about 32 KiB; a larger single
/// message (a link with many SR-IOV VFs) is detected with `MSG_TRUNC` and the buffer grown.
const RECV_BUFFER: usize = 64 * 1024;
/// `SO_RCVBUF` asked for (best effort: the kernel caps it at `net.core.rmem_max`).
const SOCKET_RCVBUF: i32 = 1 << 20;
/// `MSG_TRUNC` (linux/socket.h): make `recv` return the datagram's real length.
const MSG_TRUNC: i32 = 0x20;
/// `ENOBUFS` (asm-generic/errno.h; the value of every architecture but alpha, mips, parisc, sparc).
const ENOBUFS: i32 = 105;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
/// `NLMSGERR_ATTR_MSG`: the extended-ack text.
const NLMSGERR_ATTR_MSG: u16 = 1;
const NETLINK_HEADER_LEN: usize = 16;

/// A `NETLINK_ROUTE` socket that runs dumps.
pub struct Connection {
    socket: Socket,
    buf: Vec<u8>,
    seq: u32,
}

fn open_socket() -> Result<Socket, Error> {
    let mut socket = Socket::new(NETLINK_ROUTE).map_err(Error::Socket)?;
    socket.bind_auto().map_err(Error::Socket)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(Error::Socket)?;
    // Best effort, all three: a bigger queue, and error texts without the echoed request.
    let _ = socket.set_rx_buf_sz(SOCKET_RCVBUF);
    let _ = socket.set_ext_ack(true);
    let _ = socket.set_cap_ack(true);
    Ok(socket)
}

enum Attempt {
    Complete,
    Retry(Retry),
}

impl Connection {
    /// Opens, binds and connects the socket (a bigger receive queue, extended acks, capped
    /// acks: best effort).
    pub fn open() -> Result<Connection, Error> {
        Ok(Connection { socket: open_socket()?, buf: Vec::with_capacity(RECV_BUFFER), seq: 0 })
    }

    /// Runs one dump to completion, restarting it when the kernel says it was inconsistent, its
    /// queue overflowed or a datagram did not fit (a bounded number of times, then
    /// [`Error::Retries`]). `parse` turns each message's payload into an item, or `None` to skip
    /// it; the items come in the kernel's order.
    pub fn dump<T>(
        &mut self,
        dump: Dump,
        parse: impl Fn(&[u8]) -> Result<Option<T>, DecodeError>,
    ) -> Result<Vec<T>, Error> {
        let expected = dump.reply_type();
        let mut out = Vec::new();
        let mut attempts = 0;
        loop {
            attempts += 1;
            out.clear();
            let reason = match self.try_dump(dump, expected, &parse, &mut out)? {
                Attempt::Complete => return Ok(out),
                Attempt::Retry(reason) => reason,
            };
            if attempts >= MAX_ATTEMPTS {
                return Err(Error::Retries { dump, attempts, reason });
            }
            if reason != Retry::Interrupted {
                // The rest of the aborted dump may still be queued: start from a clean socket.
                self.socket = open_socket()?;
            }
        }
    }

    fn try_dump<T>(
        &mut self,
        dump: Dump,
        expected: u16,
        parse: &impl Fn(&[u8]) -> Result<Option<T>, DecodeError>,
        out: &mut Vec<T>,
    ) -> Result<Attempt, Error> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let request = request(dump, seq);
        self.socket.send(&request, 0).map_err(|source| Error::Io { dump, op: "send", source })?;
        let mut interrupted = false;
        loop {
            self.buf.clear();
            let n = match self.socket.recv(&mut self.buf, MSG_TRUNC) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => return Ok(Attempt::Retry(Retry::Overrun)),
                Err(source) => return Err(Error::Io { dump, op: "recv", source }),
            };
            if n > self.buf.len() {
                let wanted = n.next_power_of_two();
                self.buf = Vec::with_capacity(wanted);
                return Ok(Attempt::Retry(Retry::Truncated));
            }
            let decode = |e: DecodeError| Error::Decode { dump, reason: e.to_string() };
            let mut data = &self.buf[..n];
            while !data.is_empty() {
                let message = NetlinkBuffer::new_checked(data).map_err(decode)?;
                let len = message.length() as usize;
                let payload = message.payload();
                let (kind, flags) = (message.message_type(), message.flags());
                data = &data[align4(len).min(data.len())..];
                if message.sequence_number() != seq {
                    continue; // Left over from an earlier request.
                }
                if flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match kind {
                    NLMSG_DONE => {
                        let code = payload.get(..4).map_or(Ok(0), parse_i32).map_err(decode)?;
                        if code < 0 {
                            let extack = tlvs_message(flags, payload.get(4..).unwrap_or_default());
                            return Err(Error::Kernel { dump, errno: -code, extack });
                        }
                        return Ok(if interrupted { Attempt::Retry(Retry::Interrupted) } else { Attempt::Complete });
                    }
                    NLMSG_ERROR => {
                        let code = payload.get(..4).map_or(Ok(0), parse_i32).map_err(decode)?;
                        if code == 0 {
                            continue; // An acknowledgement; not asked for, harmless.
                        }
                        let extack = error_message(flags, payload);
                        return Err(Error::Kernel { dump, errno: -code, extack });
                    }
                    NLMSG_OVERRUN => return Ok(Attempt::Retry(Retry::Overrun)),
                    NLMSG_NOOP => {}
                    k if k == expected => {
                        if let Some(item) = parse(payload).map_err(decode)? {
                            out.push(item);
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Adds `addr/prefix_len` to link `index`, replacing it if it is there, and waits for the
    /// kernel's acknowledgement. An IPv4 address gets `label` (`eth0:vip`); an IPv6 address is
    /// added with `IFA_F_NODAD`, usable at once: it is a virtual address that moves between
    /// hosts, and keepalived adds it so too.
    pub fn add_address(&mut self, index: u32, addr: IpAddr, prefix_len: u8, label: Option<&str>) -> Result<(), Error> {
        let message = address_message(index, addr, prefix_len, label);
        let flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        self.change(Change::AddAddress, RouteNetlinkMessage::NewAddress(message), flags)
    }

    /// Removes `addr/prefix_len` from link `index` and waits for the kernel's acknowledgement:
    /// `Ok(true)` when it was removed, `Ok(false)` when there was nothing to remove (the address
    /// is not there, `EADDRNOTAVAIL`, or the link is gone, `ENODEV`).
    pub fn remove_address(&mut self, index: u32, addr: IpAddr, prefix_len: u8) -> Result<bool, Error> {
        let message = address_message(index, addr, prefix_len, None);
        match self.change(Change::RemoveAddress, RouteNetlinkMessage::DelAddress(message), NLM_F_REQUEST | NLM_F_ACK) {
            Ok(()) => Ok(true),
            Err(Error::Refused { errno: libc::EADDRNOTAVAIL | libc::ENODEV, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Sends one change and reads until its acknowledgement.
    fn change(&mut self, change: Change, message: RouteNetlinkMessage, flags: u16) -> Result<(), Error> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let mut header = NetlinkHeader::default();
        header.flags = flags;
        header.sequence_number = seq;
        let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(message));
        message.finalize();
        let mut request = vec![0; message.buffer_len()];
        message.serialize(&mut request);
        self.socket.send(&request, 0).map_err(|source| Error::ChangeIo { change, op: "send", source })?;
        let decode = |reason: String| Error::ChangeDecode { change, reason };
        loop {
            self.buf.clear();
            let n = match self.socket.recv(&mut self.buf, MSG_TRUNC) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(source) => return Err(Error::ChangeIo { change, op: "recv", source }),
            };
            if n > self.buf.len() {
                // An acknowledgement is the request echoed at most (and capped acks leave even
                // that out): tens of bytes against the buffer's 64 KiB.
                return Err(decode(format!("a datagram of {n} bytes, more than the buffer's {}", self.buf.len())));
            }
            let mut data = &self.buf[..n];
            while !data.is_empty() {
                let message = NetlinkBuffer::new_checked(data).map_err(|e| decode(e.to_string()))?;
                let len = message.length() as usize;
                let payload = message.payload();
                let (kind, flags) = (message.message_type(), message.flags());
                data = &data[align4(len).min(data.len())..];
                if message.sequence_number() != seq || kind != NLMSG_ERROR {
                    continue; // Left over from an earlier request, or not the answer.
                }
                let code = payload.get(..4).map_or(Ok(0), parse_i32).map_err(|e| decode(e.to_string()))?;
                if code == 0 {
                    return Ok(());
                }
                return Err(Error::Refused { change, errno: -code, extack: error_message(flags, payload) });
            }
        }
    }
}

/// A subscription to link and address changes (`RTMGRP_LINK`, `RTMGRP_IPV4_IFADDR`,
/// `RTMGRP_IPV6_IFADDR`), read without blocking: wait for [`Monitor::fd`] to be readable, then
/// [`Monitor::drain`] it.
pub struct Monitor {
    socket: Socket,
}

/// What a notification of a [`Monitor`] says happened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Notification {
    /// `RTM_NEWLINK`: a link appeared or changed (its flags: up, carrier).
    NewLink,
    /// `RTM_DELLINK`: a link went away.
    DelLink,
    /// `RTM_NEWADDR`: an address appeared or changed (its flags: tentative, DAD failed).
    NewAddress,
    /// `RTM_DELADDR`: an address went away.
    DelAddress,
}

impl Notification {
    fn of(message_type: u16) -> Option<Notification> {
        match message_type {
            RTM_NEWLINK => Some(Notification::NewLink),
            RTM_DELLINK => Some(Notification::DelLink),
            RTM_NEWADDR => Some(Notification::NewAddress),
            RTM_DELADDR => Some(Notification::DelAddress),
            _ => None,
        }
    }
}

impl Monitor {
    /// Opens the subscription, non-blocking.
    pub fn open() -> Result<Monitor, Error> {
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(Error::Socket)?;
        let groups = libc::RTMGRP_LINK | libc::RTMGRP_IPV4_IFADDR | libc::RTMGRP_IPV6_IFADDR;
        socket.bind(&SocketAddr::new(0, groups as u32)).map_err(Error::Socket)?;
        socket.set_non_blocking(true).map_err(Error::Socket)?;
        Ok(Monitor { socket })
    }

    /// The descriptor to wait on.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.socket.as_fd()
    }

    /// Every notification queued, in the kernel's order: `parse` turns each one's payload (a
    /// link or address message) into an item, or `None` to skip it. Returns when nothing more
    /// is queued. [`Error::NotificationsLost`] when the queue overflowed: some were dropped by
    /// the kernel, and the caller must read what it watches again (a dump).
    pub fn drain<T>(&mut self, mut parse: impl FnMut(Notification, &[u8]) -> Option<T>) -> Result<Vec<T>, Error> {
        let mut out = Vec::new();
        loop {
            // Peeks at the datagram's size first, so that none is ever cut.
            let data = match self.socket.recv_from_full() {
                Ok((data, _)) => data,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(out),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.raw_os_error() == Some(ENOBUFS) => return Err(Error::NotificationsLost),
                Err(e) => return Err(Error::Notifications(e)),
            };
            let mut data = &data[..];
            while let Ok(message) = NetlinkBuffer::new_checked(data) {
                let len = message.length() as usize;
                if let Some(item) = Notification::of(message.message_type()).and_then(|n| parse(n, message.payload())) {
                    out.push(item);
                }
                data = &data[align4(len).min(data.len())..];
            }
        }
    }
}

/// An address message as `ip address add` sends it: IPv4 with `IFA_LOCAL`, `IFA_ADDRESS` and
/// the label; IPv6 with `IFA_LOCAL` and `IFA_F_NODAD`.
fn address_message(index: u32, addr: IpAddr, prefix_len: u8, label: Option<&str>) -> AddressMessage {
    let mut message = AddressMessage::default();
    message.header.family = if addr.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 };
    message.header.prefix_len = prefix_len;
    message.header.index = index;
    message.header.scope = AddressScope::Universe;
    message.attributes.push(AddressAttribute::Local(addr));
    if addr.is_ipv4() {
        message.attributes.push(AddressAttribute::Address(addr));
        if let Some(label) = label {
            message.attributes.push(AddressAttribute::Label(label.to_string()));
        }
    } else {
        message.attributes.push(AddressAttribute::Flags(AddressFlags::Nodad));
    }
    message
}

/// The extended-ack text of an `NLMSG_ERROR` payload: the errno, the request's header (and its
/// body unless `NLM_F_CAPPED`), then the TLVs when `NLM_F_ACK_TLVS`.
fn error_message(flags: u16, payload: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    let echoed = if flags & NLM_F_CAPPED != 0 {
        NETLINK_HEADER_LEN
    } else {
        align4(payload.get(4..8).and_then(|b| parse_u32(b).ok())? as usize)
    };
    tlvs_message(flags, payload.get(4 + echoed..)?)
}

fn tlvs_message(flags: u16, tlvs: &[u8]) -> Option<String> {
    if flags & NLM_F_ACK_TLVS == 0 {
        return None;
    }
    NlasIterator::new(tlvs)
        .map_while(Result::ok)
        .find(|nla| nla.kind() == NLMSGERR_ATTR_MSG)
        .and_then(|nla| parse_string(nla.value()).ok())
        .filter(|m| !m.is_empty())
}

/// `len` rounded up to netlink's 4-byte alignment.
pub fn align4(len: usize) -> usize {
    (len + 3) & !3
}

fn request(dump: Dump, seq: u32) -> Vec<u8> {
    let inner = match dump {
        Dump::Links => {
            let mut message = LinkMessage::default();
            // Statistics are a third of a link message and nobody here reads them.
            message.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
            RouteNetlinkMessage::GetLink(message)
        }
        // Family AF_UNSPEC: the kernel dumps every family.
        Dump::Addresses => RouteNetlinkMessage::GetAddress(AddressMessage::default()),
        // Family AF_UNSPEC, table RT_TABLE_UNSPEC: every family, every table.
        Dump::Routes => RouteNetlinkMessage::GetRoute(RouteMessage::default()),
    };
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    header.sequence_number = seq;
    let mut message = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
    message.finalize();
    let mut buf = vec![0; message.buffer_len()];
    message.serialize(&mut buf);
    buf
}

#[cfg(test)]
mod tests {
    use netlink_packet_core::Parseable as _;

    use super::*;

    #[test]
    fn extended_ack_texts() {
        // NLMSG_ERROR, capped: errno, the request's 16-byte header, then NLMSGERR_ATTR_MSG.
        let mut payload = (-22i32).to_ne_bytes().to_vec();
        payload.extend_from_slice(&[0; NETLINK_HEADER_LEN]);
        let text = b"Invalid header for route dump request\0";
        payload.extend_from_slice(&((4 + text.len()) as u16).to_ne_bytes());
        payload.extend_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        payload.extend_from_slice(text);
        let flags = NLM_F_CAPPED | NLM_F_ACK_TLVS;
        assert_eq!(error_message(flags, &payload).as_deref(), Some("Invalid header for route dump request"));
        assert_eq!(error_message(NLM_F_CAPPED, &payload), None);
        let error = Error::Kernel { dump: Dump::Routes, errno: 22, extack: error_message(flags, &payload) };
        let shown = error.to_string();
        assert!(shown.starts_with("route dump (RTM_GETROUTE): the kernel answered Invalid argument"), "{shown}");
        assert!(shown.ends_with("(Invalid header for route dump request)"), "{shown}");
    }

    #[test]
    fn a_dump_of_this_namespace_has_loopback() {
        let mut c = Connection::open().unwrap();
        let names = c
            .dump(Dump::Links, |payload| {
                let kind = NlasIterator::new(payload.get(16..).unwrap_or_default())
                    .map_while(Result::ok)
                    .find(|nla| nla.kind() == 3)
                    .map(|nla| parse_string(nla.value()));
                kind.transpose()
            })
            .unwrap();
        assert!(names.iter().any(|n| n == "lo"), "{names:?}");
    }

    #[test]
    fn error_texts() {
        let e = Error::Retries { dump: Dump::Addresses, attempts: 5, reason: Retry::Interrupted };
        assert_eq!(
            e.to_string(),
            "address dump (RTM_GETADDR): gave up after 5 attempts: \
             the table kept changing while it was dumped (NLM_F_DUMP_INTR)"
        );
        let e = Error::Decode { dump: Dump::Links, reason: "IFA_CACHEINFO of 4 bytes".into() };
        assert_eq!(e.to_string(), "link dump (RTM_GETLINK): malformed message: IFA_CACHEINFO of 4 bytes");
    }

    /// Reads the namespace the tests run in (nothing is changed).
    #[test]
    fn truncated_datagrams_grow_the_buffer() {
        let mut connection = Connection::open().unwrap();
        connection.buf = Vec::with_capacity(256); // Smaller than one link message.
        let links = connection.dump(Dump::Links, |payload| Ok(Some(payload.len()))).unwrap();
        assert!(connection.buf.capacity() > 256);
        assert!(!links.is_empty());
    }

    /// What `ip addr add` sends: IPv4 with IFA_LOCAL, IFA_ADDRESS and the label; IPv6 with
    /// IFA_LOCAL and IFA_F_NODAD (keepalived's choice, so the address is usable at once).
    #[test]
    fn address_messages() {
        let v4 = address_message(7, "10.0.0.5".parse().unwrap(), 24, Some("eth0:vip"));
        assert_eq!((v4.header.family, v4.header.prefix_len, v4.header.index), (AddressFamily::Inet, 24, 7));
        assert_eq!(
            v4.attributes,
            vec![
                AddressAttribute::Local("10.0.0.5".parse().unwrap()),
                AddressAttribute::Address("10.0.0.5".parse().unwrap()),
                AddressAttribute::Label("eth0:vip".into()),
            ]
        );
        let v6 = address_message(7, "fd00::5".parse().unwrap(), 64, Some("ignored"));
        assert_eq!(v6.header.family, AddressFamily::Inet6);
        assert_eq!(
            v6.attributes,
            vec![AddressAttribute::Local("fd00::5".parse().unwrap()), AddressAttribute::Flags(AddressFlags::Nodad)]
        );
    }

    /// In a network namespace of its own (this thread's, `unshare(CLONE_NEWNET)`; root
    /// needed): addresses added and removed on loopback, seen by a dump and by the monitor;
    /// removing one that is not there is no error; the kernel's refusals are typed.
    #[test]
    #[allow(clippy::disallowed_methods)] // A thread of its own, for a namespace of its own.
    fn address_changes_are_acknowledged_and_monitored() {
        std::thread::spawn(|| {
            // SAFETY: unshare(2) takes flags and no pointers; it moves this thread alone (a new
            // thread, gone at the end of the test) into a new network namespace.
            assert_eq!(unsafe { libc::unshare(libc::CLONE_NEWNET) }, 0, "{}", io::Error::last_os_error());
            let mut monitor = Monitor::open().unwrap();
            let mut c = Connection::open().unwrap();
            let lo = 1;
            let v4: IpAddr = "192.0.2.7".parse().unwrap();
            let v6: IpAddr = "2001:db8::7".parse().unwrap();
            c.add_address(lo, v4, 24, Some("lo:vip")).unwrap();
            c.add_address(lo, v4, 24, Some("lo:vip")).unwrap(); // Replaced, not refused.
            c.add_address(lo, v6, 64, None).unwrap();
            let addresses = c.dump(Dump::Addresses, |p| Ok(Some(p.to_vec()))).unwrap();
            // The kernel names an IPv6 address with IFA_ADDRESS alone.
            let has = |a: IpAddr| {
                addresses.iter().map(|p| AddressMessage::parse(&p[..]).unwrap()).any(|m| {
                    m.attributes.contains(&AddressAttribute::Local(a))
                        || m.attributes.contains(&AddressAttribute::Address(a))
                })
            };
            assert!(has(v4) && has(v6));
            let seen =
                monitor.drain(|n, payload| Some((n, AddressMessage::parse(payload).ok()?.header.index))).unwrap();
            assert!(seen.contains(&(Notification::NewAddress, lo)), "{seen:?}");
            assert!(c.remove_address(lo, v4, 24).unwrap());
            assert!(!c.remove_address(lo, v4, 24).unwrap(), "already gone");
            assert!(!c.remove_address(999, v6, 64).unwrap(), "no such link");
            let seen = monitor.drain(|n, _| Some(n)).unwrap();
            assert!(seen.contains(&Notification::DelAddress), "{seen:?}");
            assert_eq!(monitor.drain(|n, _| Some(n)).unwrap(), [], "nothing more queued");
            let e = c.add_address(999, v4, 24, None).unwrap_err();
            assert!(matches!(e, Error::Refused { change: Change::AddAddress, errno: libc::ENODEV, .. }), "{e}");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn requests_are_dumps() {
        let r = request(Dump::Routes, 7);
        let b = NetlinkBuffer::new_checked(&r[..]).unwrap();
        assert_eq!(b.message_type(), 26); // RTM_GETROUTE
        assert_eq!(b.flags(), NLM_F_REQUEST | NLM_F_DUMP);
        assert_eq!(b.sequence_number(), 7);
        assert_eq!(b.payload()[4], 0); // rtm_table = RT_TABLE_UNSPEC
    }
}
