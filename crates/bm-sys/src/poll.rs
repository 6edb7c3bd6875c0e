//! Waiting: `poll(2)` on several descriptors, and an `eventfd(2)` one thread wakes another with.

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::time::Duration;

/// Waits until one of `fds` is readable or `timeout` passes; sets `ready[i]` for each that is
/// (none: the timeout, an error or a signal). `ready` is as long as `fds`.
pub fn poll_readable(fds: &[BorrowedFd<'_>], ready: &mut [bool], timeout: Duration) {
    const MAX: usize = 16;
    let mut polls = [libc::pollfd { fd: -1, events: libc::POLLIN, revents: 0 }; MAX];
    let n = fds.len().min(MAX);
    for (p, fd) in polls.iter_mut().zip(fds) {
        p.fd = fd.as_raw_fd();
    }
    let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
    // SAFETY: `polls` is a live array of at least `n` pollfds.
    let r = unsafe { libc::poll(polls.as_mut_ptr(), n as libc::nfds_t, ms) };
    for (flag, p) in ready.iter_mut().zip(&polls[..n]) {
        *flag = r > 0 && p.revents != 0;
    }
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
}
