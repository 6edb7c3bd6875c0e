//! The boundary: reading arguments, writing results, containing panics.

use std::any::Any;
use std::borrow::Cow;
use std::ffi::{CStr, CString, c_char, c_int};
use std::fmt::{Display, Write as _};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::{BM_INTERNAL, BM_OK, BM_REJECTED};

/// A failed call: its status and the error object for `err_json`.
#[derive(Debug)]
pub(crate) struct Failure {
    status: c_int,
    body: Map<String, Value>,
}

/// The longest text (`message`, and any string field) an error object carries, in bytes. A
/// message quotes what was wrong, and an input of a megabyte (a zone configuration's node name,
/// a keyfile's line) must not come back as an error of a megabyte that the caller then logs.
const TEXT_MAX: usize = 1024;

/// `text`, or, when longer than [`TEXT_MAX`], its start and its end (where a message says
/// what is wrong) around the count of bytes left out.
fn bounded(text: String) -> String {
    if text.len() <= TEXT_MAX {
        return text;
    }
    let mut head = TEXT_MAX / 2;
    while !text.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = text.len() - TEXT_MAX / 2;
    while !text.is_char_boundary(tail) {
        tail += 1;
    }
    format!("{}…({} bytes left out)…{}", &text[..head], tail - head, &text[tail..])
}

impl Failure {
    fn new(status: c_int, kind: &str, message: impl Display) -> Failure {
        let mut body = Map::new();
        body.insert("kind".into(), json!(kind));
        body.insert("message".into(), json!(bounded(message.to_string())));
        Failure { status, body }
    }

    /// The input was rejected (status 1).
    pub(crate) fn rejected(kind: &str, message: impl Display) -> Failure {
        Failure::new(BM_REJECTED, kind, message)
    }

    /// Not the input's fault (status 2).
    pub(crate) fn internal(kind: &str, message: impl Display) -> Failure {
        Failure::new(BM_INTERNAL, kind, message)
    }

    /// Adds a field (`path`, `line`, `offset`, ...).
    pub(crate) fn with(mut self, key: &str, value: impl Serialize) -> Failure {
        let value = match json!(value) {
            Value::String(text) => Value::String(bounded(text)),
            other => other,
        };
        self.body.insert(key.into(), value);
        self
    }
}

/// Reads a NUL-terminated UTF-8 argument.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged during the
/// call.
pub(crate) unsafe fn input<'a>(p: *const c_char, name: &str) -> Result<&'a str, Failure> {
    if p.is_null() {
        return Err(Failure::rejected("null_argument", format!("{name} is NULL")).with("path", name));
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string valid for the call.
    let bytes = unsafe { CStr::from_ptr(p) }.to_bytes();
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::rejected("invalid_utf8", format!("{name} is not UTF-8: {e}"))
            .with("path", name)
            .with("offset", e.valid_up_to())
    })
}

/// Reads an optional NUL-terminated text whose bytes need not be UTF-8 (an error message from
/// the OS or the caller's C library, in its locale's encoding): NULL is `None`; invalid
/// sequences become U+FFFD, so that a message is never mistaken for its absence.
///
/// # Safety
///
/// `p` is NULL or points to a NUL-terminated string that stays valid and unchanged during the
/// call.
pub(crate) unsafe fn input_lossy<'a>(p: *const c_char) -> Option<Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: non-null, and the caller promises a NUL-terminated string valid for the call.
    Some(String::from_utf8_lossy(unsafe { CStr::from_ptr(p) }.to_bytes()))
}

/// A time crossing the ABI as monotonic nanoseconds (any fixed epoch), as the core's time.
pub(crate) fn at(ns: u64) -> Duration {
    Duration::from_nanos(ns)
}

/// Bytes as lowercase hex (packets in action JSON: `bytes_hex`).
pub(crate) fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Runs `f` on a handle's value with panics contained: `f`'s status, 1 for a NULL handle, 2
/// after a panic.
///
/// # Safety
///
/// `handle` is NULL or points to a live value not used by another thread during the call.
pub(crate) unsafe fn guarded<T>(handle: *mut T, f: impl FnOnce(&mut T) -> c_int) -> c_int {
    if handle.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: non-null, live and unshared by the contract.
    let value = unsafe { &mut *handle };
    catch_unwind(AssertUnwindSafe(|| f(value))).unwrap_or(BM_INTERNAL)
}

/// Parses a JSON request; errors name the field path, line and column.
pub(crate) fn request<T: DeserializeOwned>(text: &str) -> Result<T, Failure> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let kind = if inner.is_data() { "invalid_request" } else { "invalid_json" };
        let mut f = Failure::rejected(kind, &inner).with("line", inner.line()).with("column", inner.column());
        if path != "." {
            f = f.with("path", path);
        }
        f
    })?;
    de.end().map_err(|e| Failure::rejected("invalid_json", &e).with("line", e.line()).with("column", e.column()))?;
    Ok(value)
}

/// Serializes a result.
pub(crate) fn to_json(value: &impl Serialize) -> Result<String, Failure> {
    serde_json::to_string(value).map_err(|e| Failure::internal("serialize", e))
}

/// Runs one call: clears the out-parameters, runs `f` with panics contained, and writes its
/// result or error.
///
/// # Safety
///
/// `out_json` and `err_json` are NULL or point to writable `char *` slots.
pub(crate) unsafe fn run(
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
    f: impl FnOnce() -> Result<String, Failure>,
) -> c_int {
    if out_json.is_null() || err_json.is_null() {
        return BM_REJECTED;
    }
    // SAFETY: both are non-null and, by the caller's contract, writable.
    unsafe {
        *out_json = std::ptr::null_mut();
        *err_json = std::ptr::null_mut();
    }
    let (status, slot, text) = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(json)) => (BM_OK, out_json, json),
        Ok(Err(fail)) => (fail.status, err_json, Value::Object(fail.body).to_string()),
        Err(panic) => {
            let fail = Failure::internal("panic", format!("bmnet panicked: {}", panic_message(&*panic)));
            (BM_INTERNAL, err_json, Value::Object(fail.body).to_string())
        }
    };
    // JSON text never holds a NUL (serde_json escapes it as \u0000).
    let c = CString::new(text).unwrap_or_default();
    // SAFETY: `slot` is one of the two checked pointers above.
    unsafe { *slot = c.into_raw() };
    status
}

/// [`run`] for calls whose only output is an error: `err_json` may be NULL (the error is
/// dropped then), and a successful call writes nothing.
///
/// # Safety
///
/// `err_json` is NULL or points to a writable `char *` slot.
pub(crate) unsafe fn run_optional_error(
    err_json: *mut *mut c_char,
    f: impl FnOnce() -> Result<String, Failure>,
) -> c_int {
    let mut ok: *mut c_char = std::ptr::null_mut();
    let mut err: *mut c_char = std::ptr::null_mut();
    // SAFETY: both slots are live locals.
    let status = unsafe { run(&raw mut ok, &raw mut err, f) };
    // SAFETY: `ok` and `err` are NULL or made by `run`, each freed or handed over once.
    unsafe {
        crate::bm_string_free(ok);
        if err_json.is_null() {
            crate::bm_string_free(err);
        } else {
            *err_json = err;
        }
    }
    status
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "(no message)".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `f` through `run` and returns the status and the text written.
    fn through_run(f: impl FnOnce() -> Result<String, Failure>) -> (c_int, Option<String>, Option<String>) {
        let (mut out, mut err): (*mut c_char, *mut c_char) = (std::ptr::null_mut(), std::ptr::null_mut());
        // SAFETY: both slots are live locals.
        let status = unsafe { run(&mut out, &mut err, f) };
        let take = |p: *mut c_char| {
            // SAFETY: `p` is NULL or was made by `run` with `CString::into_raw`, and is freed once.
            (!p.is_null()).then(|| unsafe { CString::from_raw(p) }.into_string().unwrap())
        };
        (status, take(out), take(err))
    }

    #[test]
    fn a_panic_is_status_2_with_its_message() {
        let (status, out, err) = through_run(|| panic!("boom"));
        assert_eq!(status, BM_INTERNAL);
        assert!(out.is_none());
        let err: Value = serde_json::from_str(&err.unwrap()).unwrap();
        assert_eq!(err["kind"], "panic");
        assert_eq!(err["message"], "bmnet panicked: boom");
    }

    #[test]
    fn results_and_failures_go_to_their_own_slot() {
        assert_eq!(through_run(|| Ok("{}".into())), (BM_OK, Some("{}".into()), None));
        let (status, out, err) = through_run(|| Err(Failure::rejected("k", "m").with("path", "a.b")));
        assert_eq!((status, out), (BM_REJECTED, None));
        assert_eq!(err.unwrap(), r#"{"kind":"k","message":"m","path":"a.b"}"#);
    }

    /// The attacker sends a megabyte where a name belongs: the error object stays about a
    /// kilobyte and keeps the message's start and its end, where it says what is wrong.
    #[test]
    fn error_texts_are_bounded_at_both_ends() {
        let huge = format!("nodes.{}: label must be 1 to 63 bytes", "é".repeat(500_000));
        let (status, _, err) = through_run(|| Err(Failure::rejected("k", &huge).with("path", &huge).with("line", 3)));
        assert_eq!(status, BM_REJECTED);
        let err = err.unwrap();
        assert!(err.len() < 3 * TEXT_MAX, "{} bytes", err.len());
        let err: Value = serde_json::from_str(&err).unwrap();
        for field in ["message", "path"] {
            let text = err[field].as_str().unwrap();
            assert!(text.starts_with("nodes.éé") && text.ends_with("éé: label must be 1 to 63 bytes"), "{text}");
            // Start + end + what was left out = the whole, and the start and end are the whole's.
            let (head, rest) = text.split_once("…(").unwrap();
            let (n, tail) = rest.split_once(" bytes left out)…").unwrap();
            assert_eq!(head.len() + n.parse::<usize>().unwrap() + tail.len(), huge.len(), "{text}");
            assert!(huge.starts_with(head) && huge.ends_with(tail) && head.len() + tail.len() <= TEXT_MAX);
        }
        assert_eq!(err["line"], 3);
        // Up to the bound, a text is kept whole.
        let just = "x".repeat(TEXT_MAX);
        assert_eq!(bounded(just.clone()), just);
    }

    #[test]
    fn requests_name_path_line_and_column() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct R {
            a: Vec<u8>,
        }
        let e = request::<R>("{\n \"a\": [1, 300]\n}").unwrap_err();
        assert_eq!(e.status, BM_REJECTED);
        assert_eq!(e.body["kind"], "invalid_request");
        assert_eq!(e.body["path"], "a[1]");
        assert_eq!(e.body["line"], 2);
        let e = request::<R>("{\"a\": []} x").unwrap_err();
        assert_eq!(e.body["kind"], "invalid_json");
    }
}
