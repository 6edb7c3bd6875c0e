//! Waiting: `poll(2)` on several descriptors (readable, or writable too: [`wait_io`]), and an `eventfd(2)` one thread wakes another with.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Waits until one of `fds` is readable or `timeout` passes; sets `ready[i]` for each that is
/// (none: the timeout, an error or a signal). `ready` is as long as `fds`, and at most 16 of
/// them are polled: a server's few sockets, waited on without allocating.
pub fn poll_readable(fds: &[BorrowedFd<'_>], ready: &mut [bool], timeout: Duration) {
    const MAX: usize = 16;
    let mut polls = [libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 }; MAX];
    let n = fds.len().min(MAX);
    for (p, fd) in polls.iter_mut().zip(fds) {
        p.fd = fd.as_raw_fd();
    }
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    let r = poll_fds(&mut polls[..n], ms).unwrap_or(0);
    for (flag, p) in ready.iter_mut().zip(&polls[..n]) {
        *flag = r > 0 && p.revents != 0;
    }
}

/// Waits until one of `fds` is readable (or in error, which a read then reports) or `timeout`
/// passes (`None`: forever); which are. The timeout is rounded up to the millisecond, so that a
/// timer is never polled for early and then spun on. A signal (`EINTR`) counts as nothing
/// ready; other errors are returned.
pub fn wait(fds: &[BorrowedFd<'_>], timeout: Option<Duration>) -> io::Result<Vec<bool>> {
    let mut polls: Vec<libc::pollfd> =
        fds.iter().map(|fd| libc::pollfd { fd: fd.as_raw_fd(), events: libc::POLLIN, revents: 0 }).collect();
    let ms = match timeout {
        None => -1,
        Some(t) => i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
    };
    match poll_fds(&mut polls, ms) {
        Ok(_) => Ok(polls.iter().map(|p| p.revents != 0).collect()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(vec![false; fds.len()]),
        Err(e) => Err(e),
    }
}

/// A descriptor to wait on, and for what.
#[derive(Clone, Copy, Debug)]
pub struct Interest<'a> {
    /// The descriptor.
    pub fd: BorrowedFd<'a>,
    /// Wait until it is readable.
    pub read: bool,
    /// Wait until it is writable (a non-blocking `connect` finishing, room to send).
    pub write: bool,
}

/// What a descriptor is ready for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ready {
    /// Readable (or at end of file).
    pub read: bool,
    /// Writable.
    pub write: bool,
    /// In error or hung up (`POLLERR`, `POLLHUP`, `POLLNVAL`): a read, a write or
    /// `SO_ERROR` says which error.
    pub error: bool,
}

/// Waits until one of `fds` is ready for what it is waited on for, or in error, or `timeout`
/// passes (`None`: forever; rounded up to the millisecond as [`wait`] does); what each is
/// ready for. A signal (`EINTR`) counts as nothing ready; other errors are returned.
pub fn wait_io(fds: &[Interest<'_>], timeout: Option<Duration>) -> io::Result<Vec<Ready>> {
    let mut polls: Vec<libc::pollfd> = fds
        .iter()
        .map(|i| {
            let mut events = 0;
            if i.read {
                events |= libc::POLLIN;
            }
            if i.write {
                events |= libc::POLLOUT;
            }
            libc::pollfd { fd: i.fd.as_raw_fd(), events, revents: 0 }
        })
        .collect();
    let ms = match timeout {
        None => -1,
        Some(t) => i32::try_from(t.as_micros().div_ceil(1000)).unwrap_or(i32::MAX),
    };
    match poll_fds(&mut polls, ms) {
        Ok(_) => Ok(polls
            .iter()
            .map(|p| Ready {
                read: p.revents & libc::POLLIN != 0,
                write: p.revents & libc::POLLOUT != 0,
                error: p.revents & (libc::POLLERR | libc::POLLHUP | libc::POLLNVAL) != 0,
            })
            .collect()),
        Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(vec![Ready::default(); fds.len()]),
        Err(e) => Err(e),
    }
}

/// `poll(2)` over `polls` for `ms` milliseconds (-1: forever): how many are ready.
fn poll_fds(polls: &mut [libc::pollfd], ms: i32) -> io::Result<usize> {
    // SAFETY: `polls` is a live, exclusively borrowed array of `polls.len()` pollfds.
    let r = unsafe { libc::poll(polls.as_mut_ptr(), polls.len() as libc::nfds_t, ms) };
    if r < 0 { Err(io::Error::last_os_error()) } else { Ok(r as usize) }
}

/// Waits until one of `fds` is readable or `timeout` passes; whether one is.
pub fn wait_readable(fds: &[BorrowedFd<'_>], timeout: Duration) -> bool {
    let mut ready = [false; 16];
    poll_readable(fds, &mut ready[..fds.len().min(16)], timeout);
    ready.iter().any(|&r| r)
}

/// An `eventfd(2)` counter: one thread wakes another's `poll`.
#[derive(Debug)]
pub struct EventFd(OwnedFd);

impl EventFd {
    /// A new counter, non-blocking, closed on exec.
    pub fn new() -> io::Result<EventFd> {
        // SAFETY: plain eventfd(2); the descriptor is owned at once.
        let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a new descriptor nothing else owns.
        Ok(EventFd(unsafe { OwnedFd::from_raw_fd(raw) }))
    }

    /// Makes the descriptor readable.
    pub fn wake(&self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of a live u64. A full counter (EAGAIN) is already awake.
        unsafe { libc::write(self.0.as_raw_fd(), (&raw const one).cast(), 8) };
    }

    /// Makes it unreadable again.
    pub fn clear(&self) {
        let mut n: u64 = 0;
        // SAFETY: reads at most 8 bytes into a live u64.
        unsafe { libc::read(self.0.as_raw_fd(), (&raw mut n).cast(), 8) };
    }

    /// The descriptor, to wait on.
    pub fn fd(&self) -> BorrowedFd<'_> {
        use std::os::fd::AsFd;
        self.0.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_eventfd_wakes_a_poll() {
        let e = EventFd::new().unwrap();
        assert!(!wait_readable(&[e.fd()], Duration::ZERO));
        e.wake();
        e.wake();
        assert!(wait_readable(&[e.fd()], Duration::ZERO));
        e.clear();
        assert!(!wait_readable(&[e.fd()], Duration::ZERO));
    }

    #[test]
    fn wait_io_says_what_each_is_ready_for() {
        let (a, b) = (EventFd::new().unwrap(), EventFd::new().unwrap());
        b.wake();
        let fds = [Interest { fd: a.fd(), read: true, write: false }, Interest { fd: b.fd(), read: true, write: true }];
        let ready = wait_io(&fds, None).unwrap();
        assert_eq!(ready[0], Ready::default());
        // An eventfd below its maximum is always writable.
        assert_eq!(ready[1], Ready { read: true, write: true, error: false });
        b.clear();
        let only_read = [Interest { fd: b.fd(), read: true, write: false }];
        assert_eq!(wait_io(&only_read, Some(Duration::from_micros(1))).unwrap(), [Ready::default()]);
    }

    #[test]
    fn wait_says_which_is_ready() {
        let (a, b) = (EventFd::new().unwrap(), EventFd::new().unwrap());
        b.wake();
        assert_eq!(wait(&[a.fd(), b.fd()], None).unwrap(), [false, true]);
        b.clear();
        // A microsecond is rounded up to a millisecond, not down to a busy poll.
        assert_eq!(wait(&[a.fd(), b.fd()], Some(Duration::from_micros(1))).unwrap(), [false, false]);
    }
}
