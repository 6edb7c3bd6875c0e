//! The bounded queue through which TCP connections and the XDP path hand queries to the
//! shared forwarder, and where each answer goes back.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::Mutex;
use std::sync::mpsc::SyncSender;

use crate::answer::Transport;

/// Where the answer to a forwarded query goes.
#[derive(Debug)]
pub(crate) enum ReplyTo {
    /// Over UDP through the listening socket `listen`, from `from` (the address the query was
    /// sent to, and its interface) when that socket cannot choose it itself.
    Udp { listen: usize, client: SocketAddr, from: Option<(IpAddr, u32)> },
    /// To the thread serving a TCP connection.
    Tcp(SyncSender<Relayed>),
}

/// An answer for a TCP connection's thread.
#[derive(Debug)]
pub(crate) struct Relayed {
    pub(crate) bytes: Vec<u8>,
    /// The upstream that answered (`None`: SERVFAIL).
    pub(crate) upstream: Option<SocketAddr>,
}

/// A query handed to the forwarder.
#[derive(Debug)]
pub(crate) struct Submission {
    pub(crate) query: Vec<u8>,
    pub(crate) client: SocketAddr,
    pub(crate) transport: Transport,
    pub(crate) reply: ReplyTo,
}

/// The bounded queue from the transports to the forwarder's thread, with the descriptor that
/// wakes it.
#[derive(Debug)]
pub(crate) struct Inbox {
    queue: Mutex<VecDeque<Submission>>,
    capacity: usize,
    pub(crate) wake: bm_sys::poll::EventFd,
}

impl Inbox {
    pub(crate) fn new(capacity: usize) -> io::Result<Inbox> {
        Ok(Inbox { queue: Mutex::new(VecDeque::new()), capacity: capacity.max(1), wake: bm_sys::poll::EventFd::new()? })
    }

    /// Queues `s`, waking the forwarder; `false` (and `s` dropped) when the queue is full.
    #[must_use]
    pub(crate) fn submit(&self, s: Submission) -> bool {
        let mut q = self.queue.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() >= self.capacity {
            return false;
        }
        q.push_back(s);
        if q.len() == 1 {
            self.wake.wake();
        }
        true
    }

    pub(crate) fn wake(&self) {
        self.wake.wake();
    }

    pub(crate) fn take(&self) -> VecDeque<Submission> {
        self.wake.clear();
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
