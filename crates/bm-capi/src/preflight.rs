//! `bm_vrrp_openshift_vrids` and `bm_preflight_drift`.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;

use bm_nodeip::HostSnapshot;
use bm_preflight::drift::{KeyfileDir, KeyfileFile, check, check_dirs, load_profiles};
use bm_vrrp::OpenShiftVrids;
use serde::{Deserialize, Serialize};

use crate::ffi::{self, Failure};
use crate::nodeip::this_host;

/// The VRIDs OpenShift's keepalived uses for a cluster, as `runtimecfg vr-ids NAME` prints
/// them: `{"api": 147, "ingress": 2}` for `cnf10`.
///
/// `request` is the cluster name itself (the install-config's `metadata.name`, taken byte for
/// byte as runtimecfg takes it: no trimming), or a JSON object (told apart by its leading `{`
/// after white space, which no cluster name has):
///
/// ```json
/// {"name": "cnf10", "others": ["cnf11", "lab"]}
/// ```
///
/// With `others`, the result also says which of those clusters would share a VRID on the same
/// segment, in either role:
///
/// ```json
/// {"api": 147, "ingress": 2,
///  "others": [{"name": "cnf11", "api": 228, "ingress": 147, "collides": true, "shared": [147]}, ...]}
/// ```
///
/// An empty name (runtimecfg's "Cluster name can't be empty") is status 1, `kind`
/// `empty_cluster_name` (with `path` `others[i]` for one of the others); an unknown field is
/// `invalid_request` naming it.
///
/// Thread-safe; no I/O.
///
/// # Safety
///
/// `request` is NULL or a NUL-terminated string; `out_json` and `err_json` are NULL or point to
/// writable `char *` slots. Returned strings are freed with `bm_string_free`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_vrrp_openshift_vrids(
    request: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `request` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(request, "request") }?;
        vrids_json(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

/// Keyfile drift: where the NetworkManager keyfiles say something else than what the kernel
/// runs (what `nmcli connection up` or the next reboot would change), as
/// `bm_preflight::drift::check` reports it.
///
/// `request` is a JSON object with the keyfiles, given either in memory or as directories to
/// read:
///
/// ```json
/// {"keyfiles": [{"path": "eth0.nmconnection", "text": "[connection]\nid=eth0\n..."}],
///  "snapshot": {"links": [...], "addresses": [...], "routes": [...]},
///  "resolv_conf": "nameserver 10.0.0.53\nsearch example.com\n"}
/// ```
///
/// ```json
/// {"dirs": ["/run/NetworkManager/system-connections", "/etc/NetworkManager/system-connections"]}
/// ```
///
/// - `keyfiles` or `dirs`, exactly one. Keyfiles given in memory are taken as root-owned,
///   mode 0600 regular files (their permissions are not what is checked), all of one
///   directory; `dirs` are read in the order given, the first winning when two files share a
///   UUID, each loading files of any name (as `/etc` does); a missing directory holds nothing,
///   one that cannot be read is status 2, `kind` `io`, with the `file` it failed on.
/// - `snapshot` (the JSON of `bmnet node-ip snapshot`): without it, this host's network
///   namespace is read through netlink (a failure to read it is status 2, `kind` `host`).
/// - `resolv_conf`: the text of NetworkManager's `resolv.conf`
///   (`/run/NetworkManager/resolv.conf`), for DNS; without it DNS is not compared.
///
/// The result is the report:
///
/// ```json
/// {"matched": [{"profile": {"id": "eth0", "uuid": null, "file": "eth0.nmconnection"},
///               "link": "eth0", "by": "interface-name"}],
///  "unmatched": [{"profile": {...}, "reason": {"reason": "not-autoconnect"}}],
///  "differences": [{"profile": {...}, "link": "eth0", "field": "mtu", "file": "9000",
///                   "kernel": "1500", "activation": "set", "consequence": "..."}],
///  "dns": {"status": "not-comparable", "reason": {"reason": "no-resolv-conf"}},
///  "not_loaded": [{"file": "x.nmconnection", "reason": {"reason": "refused", "codes": [...]}}]}
/// ```
///
/// Status 0 whenever the check ran, with or without differences. Status 1 for a malformed
/// request (`invalid_request`, `invalid_json`; an unknown field is named).
///
/// Thread-safe. I/O: the directories of `dirs`, and this host's network without `snapshot`.
///
/// # Safety
///
/// As [`bm_vrrp_openshift_vrids`].
#[unsafe(no_mangle)]
pub unsafe extern "C" fn bm_preflight_drift(
    request: *const c_char,
    out_json: *mut *mut c_char,
    err_json: *mut *mut c_char,
) -> c_int {
    let call = || {
        // SAFETY: `request` is NULL or a NUL-terminated string, by this function's contract.
        let text = unsafe { ffi::input(request, "request") }?;
        drift_json(text)
    };
    // SAFETY: the out-parameters are passed on under this function's own contract.
    unsafe { ffi::run(out_json, err_json, call) }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VridsRequest {
    name: String,
    #[serde(default)]
    others: Vec<String>,
}

#[derive(Serialize)]
struct VridsResult {
    api: u8,
    ingress: u8,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    others: Vec<OtherCluster>,
}

#[derive(Serialize)]
struct OtherCluster {
    name: String,
    api: u8,
    ingress: u8,
    collides: bool,
    shared: Vec<u8>,
}

fn vrids_of(name: &str, path: &str) -> Result<OpenShiftVrids, Failure> {
    OpenShiftVrids::for_cluster(name)
        .map_err(|e| Failure::rejected("empty_cluster_name", format!("{e}: runtimecfg refuses it")).with("path", path))
}

fn vrids_json(text: &str) -> Result<String, Failure> {
    let r = if text.trim_start().starts_with('{') {
        ffi::request::<VridsRequest>(text)?
    } else {
        VridsRequest { name: text.to_string(), others: Vec::new() }
    };
    let ours = vrids_of(&r.name, "name")?;
    let mut others = Vec::with_capacity(r.others.len());
    for (i, name) in r.others.into_iter().enumerate() {
        let theirs = vrids_of(&name, &format!("others[{i}]"))?;
        let mut shared: Vec<u8> = ours.both().into_iter().filter(|v| theirs.both().contains(v)).collect();
        shared.dedup();
        others.push(OtherCluster {
            name,
            api: theirs.api,
            ingress: theirs.ingress,
            collides: ours.collides_with(&theirs),
            shared,
        });
    }
    ffi::to_json(&VridsResult { api: ours.api, ingress: ours.ingress, others })
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DriftRequest {
    #[serde(default)]
    keyfiles: Option<Vec<KeyfileText>>,
    #[serde(default)]
    dirs: Option<Vec<PathBuf>>,
    #[serde(default)]
    snapshot: Option<HostSnapshot>,
    #[serde(default)]
    resolv_conf: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyfileText {
    path: String,
    text: String,
}

fn drift_json(text: &str) -> Result<String, Failure> {
    let r: DriftRequest = ffi::request(text)?;
    let source = match (r.keyfiles, r.dirs) {
        (Some(files), None) => Ok(files),
        (None, Some(dirs)) => Err(dirs),
        (Some(_), Some(_)) => {
            return Err(
                Failure::rejected("invalid_request", "give either `keyfiles` or `dirs`, not both").with("path", "dirs")
            );
        }
        (None, None) => {
            return Err(Failure::rejected("invalid_request", "give `keyfiles` (in memory) or `dirs` (to read)"));
        }
    };
    let host = match r.snapshot {
        Some(s) => s,
        None => this_host()?,
    };
    let resolv_conf = r.resolv_conf.as_deref();
    let report = match source {
        Ok(files) => {
            let files: Vec<KeyfileFile> = files
                .into_iter()
                .map(|f| KeyfileFile {
                    path: f.path,
                    bytes: f.text.into_bytes(),
                    precedence: 0,
                    any_name: true,
                    regular: true,
                    mode: Some(0o600),
                    uid: Some(0),
                    modified: None,
                })
                .collect();
            let loaded = load_profiles(&files);
            let mut report = check(&loaded.profiles, &host, resolv_conf);
            report.not_loaded = loaded.not_loaded;
            report
        }
        Err(dirs) => {
            let dirs: Vec<KeyfileDir> = dirs.into_iter().map(|path| KeyfileDir { path, any_name: true }).collect();
            check_dirs(&dirs, &host, resolv_conf).map_err(|e| {
                let file = match &e {
                    bm_preflight::drift::LoadError::List { path, .. }
                    | bm_preflight::drift::LoadError::Read { path, .. } => Some(path.display().to_string()),
                    _ => None,
                };
                let f = Failure::internal("io", &e);
                match file {
                    Some(file) => f.with("file", file),
                    None => f,
                }
            })?
        }
    };
    ffi::to_json(&report)
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::MetadataExt as _;
    use std::ptr::null_mut;

    use serde_json::{Value, json};

    use super::*;
    use crate::{BM_INTERNAL, BM_OK, BM_REJECTED, bm_string_free};

    type Entry = unsafe extern "C" fn(*const c_char, *mut *mut c_char, *mut *mut c_char) -> c_int;

    /// Calls an entry point: its status and the JSON it wrote (result or error).
    fn call(f: Entry, text: &str) -> (c_int, Value) {
        let input = std::ffi::CString::new(text).unwrap();
        let (mut out, mut err) = (null_mut(), null_mut());
        // SAFETY: a NUL-terminated input and two writable slots.
        let status = unsafe { f(input.as_ptr(), &mut out, &mut err) };
        let slot = if status == BM_OK { out } else { err };
        // SAFETY: `run` wrote a NUL-terminated string into the slot of the status.
        let json = unsafe { std::ffi::CStr::from_ptr(slot) }.to_str().unwrap().to_string();
        // SAFETY: both are NULL or strings made by `run`, freed once.
        unsafe {
            bm_string_free(out);
            bm_string_free(err);
        }
        (status, serde_json::from_str(&json).unwrap())
    }

    fn vrids(text: &str) -> (c_int, Value) {
        call(bm_vrrp_openshift_vrids, text)
    }

    fn drift(req: &Value) -> (c_int, Value) {
        call(bm_preflight_drift, &req.to_string())
    }

    const ETH0: &str = "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n\
                        [ethernet]\nmtu=9000\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n";

    fn snapshot(mtu: u32) -> Value {
        json!({"links": [{"index": 2, "name": "eth0", "up": true, "mtu": mtu}],
               "addresses": [{"link": 2, "addr": "10.0.0.5/24"}]})
    }

    #[test]
    fn vrids_by_name_and_by_request() {
        assert_eq!(vrids("cnf10"), (BM_OK, json!({"api": 147, "ingress": 2})));
        assert_eq!(vrids(r#" {"name": "cnf11"}"#), (BM_OK, json!({"api": 228, "ingress": 147})));
        let (status, v) = vrids(r#"{"name": "cnf10", "others": ["cnf11", "cnf10"]}"#);
        assert_eq!(status, BM_OK);
        let cnf11 = json!({"name": "cnf11", "api": 228, "ingress": 147, "collides": true, "shared": [147]});
        assert_eq!(v["others"][0], cnf11);
        assert_eq!(v["others"][1]["shared"], json!([147, 2]));
    }

    #[test]
    fn vrids_rejections() {
        for (text, kind, path) in [
            ("", "empty_cluster_name", Some("name")),
            (r#"{"name": ""}"#, "empty_cluster_name", Some("name")),
            (r#"{"name": "a", "others": ["b", ""]}"#, "empty_cluster_name", Some("others[1]")),
            (r#"{"name": "a", "cluster": "b"}"#, "invalid_request", Some("cluster")),
            (r#"{"others": []}"#, "invalid_request", None),
        ] {
            let (status, e) = vrids(text);
            assert_eq!((status, e["kind"].as_str()), (BM_REJECTED, Some(kind)), "{text}: {e}");
            assert_eq!(e["path"].as_str(), path, "{text}: {e}");
        }
        assert_eq!(vrids(r#"{"name": "a""#).1["kind"], "invalid_json");
        assert!(vrids(r#"{"name": "a", "cluster": "b"}"#).1["message"].as_str().unwrap().contains("`cluster`"));
    }

    #[test]
    fn drift_in_memory_finds_the_mtu_alone() {
        let (status, v) =
            drift(&json!({"keyfiles": [{"path": "eth0.nmconnection", "text": ETH0}], "snapshot": snapshot(1500)}));
        assert_eq!(status, BM_OK, "{v}");
        let d = v["differences"].as_array().unwrap();
        assert_eq!(d.len(), 1, "{v}");
        assert_eq!((&d[0]["field"], &d[0]["file"], &d[0]["kernel"]), (&json!("mtu"), &json!("9000"), &json!("1500")));
        assert_eq!(v["matched"][0]["link"], "eth0");
        assert_eq!(v["not_loaded"], json!([]));
        // The MTU as the file says too: no drift.
        let (_, v) =
            drift(&json!({"keyfiles": [{"path": "eth0.nmconnection", "text": ETH0}], "snapshot": snapshot(9000)}));
        assert_eq!(v["differences"], json!([]), "{v}");
    }

    #[test]
    fn drift_reports_files_not_loaded_and_dns() {
        let (status, v) = drift(&json!({
            "keyfiles": [{"path": "eth0.nmconnection", "text": ETH0},
                         {"path": "broken.nmconnection", "text": "[ipv4]\nmethod=manual\n"}],
            "snapshot": snapshot(1500), "resolv_conf": "nameserver 127.0.0.53\n"}));
        assert_eq!(status, BM_OK, "{v}");
        assert_eq!(v["not_loaded"][0]["file"], "broken.nmconnection");
        assert_eq!(v["not_loaded"][0]["reason"]["reason"], "refused");
        assert_eq!(v["dns"]["status"], "not-comparable");
        assert_eq!(v["dns"]["reason"]["reason"], "local-resolver");
    }

    #[test]
    fn drift_reads_directories() {
        let dir = std::env::temp_dir().join(format!("bm-capi-drift-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("eth0.nmconnection");
        std::fs::write(&file, ETH0).unwrap();
        std::fs::set_permissions(&file, std::os::unix::fs::PermissionsExt::from_mode(0o600)).unwrap();
        let root = std::fs::metadata(&file).unwrap().uid() == 0;
        let (status, v) = drift(&json!({"dirs": [dir.join("missing"), &dir], "snapshot": snapshot(1500)}));
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(status, BM_OK, "{v}");
        // A file of root's loads; anyone else's NetworkManager refuses, and the report says so.
        if root {
            assert_eq!(v["differences"][0]["field"], "mtu", "{v}");
            assert_eq!(v["not_loaded"], json!([]), "{v}");
        } else {
            assert_eq!(v["not_loaded"][0]["reason"]["reason"], "insecure", "{v}");
        }
    }

    #[test]
    fn drift_rejections() {
        let snap = snapshot(1500);
        for (req, path, needle) in [
            (json!({"snapshot": snap}), None, "give `keyfiles`"),
            (json!({"keyfiles": [], "dirs": [], "snapshot": snap}), Some("dirs"), "not both"),
            (json!({"keyfiles": [], "snapshot": snap, "resolv": ""}), Some("resolv"), "unknown field `resolv`"),
            (
                json!({"keyfiles": [{"path": "a", "txt": ""}], "snapshot": snap}),
                Some("keyfiles[0].txt"),
                "unknown field `txt`",
            ),
            (json!({"keyfiles": [], "snapshot": {"links": 3}}), Some("snapshot.links"), "invalid type"),
        ] {
            let (status, e) = drift(&req);
            assert_eq!((status, e["kind"].as_str()), (BM_REJECTED, Some("invalid_request")), "{req}: {e}");
            assert_eq!(e["path"].as_str(), path, "{req}: {e}");
            assert!(e["message"].as_str().unwrap().contains(needle), "{req}: {e}");
        }
        let (status, e) = drift(&json!({"dirs": ["/proc/self/status"], "snapshot": snap}));
        assert_eq!((status, &e["kind"], &e["file"]), (BM_INTERNAL, &json!("io"), &json!("/proc/self/status")), "{e}");
    }
}
