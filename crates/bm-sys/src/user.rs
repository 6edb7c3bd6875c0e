//! Users and groups by name (`getpwnam_r(3)`, `getgrnam_r(3)`), through NSS as every other
//! program on the host sees them (files, LDAP, systemd's dynamic users).

use std::ffi::CString;
use std::io;
use std::mem;

/// A user's ids.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct User {
    /// Its uid.
    pub uid: u32,
    /// Its primary group's gid.
    pub gid: u32,
}

/// Why a lookup failed. A name that does not exist is no error: the lookups say `Ok(None)`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LookupError {
    /// A name with a NUL byte, which no user or group has and C cannot be given.
    #[error("a name with a NUL byte")]
    Nul,
    /// The database could not be read (an NSS source down, no descriptors left).
    #[error(transparent)]
    Database(io::Error),
}

/// The most buffer a lookup grows to (`ERANGE`) before it gives up: a passwd or group entry
/// with this much text is a broken database, not a big group.
const MAX_BUFFER: usize = 1 << 20;

/// What a `getpwnam_r` / `getgrnam_r` return value means: `Ok(true)` found, `Ok(false)` no
/// such name. Besides 0 with no result, glibc documents ENOENT, ESRCH, EBADF and EPERM as
/// "the given name was not found" (getpwnam(3)), and NSS modules return them for a name they
/// do not have; anything else is an error.
fn outcome(r: libc::c_int, found: bool) -> Result<bool, LookupError> {
    match r {
        0 => Ok(found),
        libc::ENOENT | libc::ESRCH | libc::EBADF | libc::EPERM => Ok(false),
        e => Err(LookupError::Database(io::Error::from_raw_os_error(e))),
    }
}

/// A user's uid and primary gid, by name (`getpwnam_r`); `Ok(None)` when there is no such user.
pub fn user_by_name(name: &str) -> Result<Option<User>, LookupError> {
    let name = CString::new(name).map_err(|_| LookupError::Nul)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: passwd is plain data; all-zero is a valid value, filled in by the call.
        let mut pwd: libc::passwd = unsafe { mem::zeroed() };
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: `name` is NUL-terminated, `pwd`, `buf` (of the length passed) and `result`
        // are live and exclusively borrowed for the call.
        let r = unsafe { libc::getpwnam_r(name.as_ptr(), &mut pwd, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        match r {
            libc::ERANGE if buf.len() < MAX_BUFFER => buf.resize(buf.len() * 4, 0),
            r => return Ok(outcome(r, !result.is_null())?.then_some(User { uid: pwd.pw_uid, gid: pwd.pw_gid })),
        }
    }
}

/// A group's gid, by name (`getgrnam_r`); `Ok(None)` when there is no such group.
pub fn group_by_name(name: &str) -> Result<Option<u32>, LookupError> {
    let name = CString::new(name).map_err(|_| LookupError::Nul)?;
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        // SAFETY: group is plain data; all-zero is a valid value, filled in by the call.
        let mut grp: libc::group = unsafe { mem::zeroed() };
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: as in user_by_name, for getgrnam_r and a group.
        let r = unsafe { libc::getgrnam_r(name.as_ptr(), &mut grp, buf.as_mut_ptr().cast(), buf.len(), &mut result) };
        match r {
            libc::ERANGE if buf.len() < MAX_BUFFER => buf.resize(buf.len() * 4, 0),
            r => return Ok(outcome(r, !result.is_null())?.then_some(grp.gr_gid)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// getpwnam(3): "0 or ENOENT or ESRCH or EBADF or EPERM or ...: The given name or uid was
    /// not found." Only other errors are failures of the lookup.
    #[test]
    fn lookup_errors_that_mean_no_such_name() {
        assert!(outcome(0, true).unwrap());
        assert!(!outcome(0, false).unwrap());
        for e in [libc::ENOENT, libc::ESRCH, libc::EBADF, libc::EPERM] {
            assert!(!outcome(e, false).unwrap(), "errno {e}");
        }
        for e in [libc::EIO, libc::EMFILE, libc::ENFILE, libc::EINTR] {
            let Err(LookupError::Database(error)) = outcome(e, false) else { panic!("errno {e} is a failure") };
            assert_eq!(error.raw_os_error(), Some(e));
        }
    }

    #[test]
    fn root_and_nobody() {
        assert_eq!(user_by_name("root").unwrap(), Some(User { uid: 0, gid: 0 }));
        assert_eq!(group_by_name("root").unwrap(), Some(0));
        assert_eq!(user_by_name("no-such-user-bmnet").unwrap(), None);
        assert_eq!(group_by_name("no-such-group-bmnet").unwrap(), None);
        assert!(matches!(user_by_name("ro\0ot"), Err(LookupError::Nul)));
    }
}
