package bmnet

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// The values OpenShift's documentation prints for `runtimecfg vr-ids`.
func TestOpenShiftVRIDs(t *testing.T) {
	for _, c := range []struct {
		name         string
		api, ingress uint8
	}{{"cnf10", 147, 2}, {"cnf11", 228, 147}} {
		v, err := OpenShiftVRIDs(c.name)
		if err != nil || v.API != c.api || v.Ingress != c.ingress || v.Others != nil {
			t.Errorf("%s: %+v %v", c.name, v, err)
		}
	}
	v, err := OpenShiftVRIDCollisions("cnf10", []string{"cnf11", "lab"})
	if err != nil || len(v.Others) != 2 {
		t.Fatalf("%+v %v", v, err)
	}
	if o := v.Others[0]; o.Name != "cnf11" || !o.Collides || len(o.Shared) != 1 || o.Shared[0] != 147 {
		t.Errorf("cnf11: %+v", o)
	}
	if o := v.Others[1]; o.Collides != (len(o.Shared) > 0) {
		t.Errorf("lab: %+v", o)
	}
	var e *Error
	if _, err := OpenShiftVRIDs(""); !errors.As(err, &e) || !e.Rejected() || e.Kind != "empty_cluster_name" || e.Path != "name" {
		t.Errorf("empty: %#v", err)
	}
	if _, err := OpenShiftVRIDCollisions("cnf10", []string{""}); !errors.As(err, &e) || e.Kind != "empty_cluster_name" || e.Path != "others[0]" {
		t.Errorf("empty other: %#v", err)
	}
	// A name that looks like JSON is still a name.
	if v, err := OpenShiftVRIDs("{"); err != nil || v.API == 0 {
		t.Errorf("{: %+v %v", v, err)
	}
}

const eth0Keyfile = "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n" +
	"[ethernet]\nmtu=9000\n[ipv4]\nmethod=manual\naddress1=10.0.0.5/24\n"

const eth0Host = `{"links": [{"index": 2, "name": "eth0", "up": true, "mtu": 1500}],
  "addresses": [{"link": 2, "addr": "10.0.0.5/24"}]}`

func TestKeyfileDriftInMemory(t *testing.T) {
	r, err := KeyfileDrift(DriftRequest{
		Keyfiles: []KeyfileText{{Path: "eth0.nmconnection", Text: eth0Keyfile}},
		Snapshot: json.RawMessage(eth0Host),
	})
	if err != nil {
		t.Fatal(err)
	}
	if !r.HasDrift() || len(r.Differences) != 1 {
		t.Fatalf("%+v", r)
	}
	d := r.Differences[0]
	if d.Field != "mtu" || d.Link != "eth0" || d.File == nil || *d.File != "9000" || d.Kernel == nil || *d.Kernel != "1500" ||
		d.Activation != "set" || d.Consequence == "" || d.Profile.File != "eth0.nmconnection" || *d.Profile.ID != "eth0" {
		t.Fatalf("%+v", d)
	}
	if len(r.Matched) != 1 || r.Matched[0].By != "interface-name" || r.DNS.Status != "not-comparable" || len(r.NotLoaded) != 0 {
		t.Fatalf("%+v", r)
	}
	// The same with the kernel at 9000 and DNS compared: no drift.
	resolv := "nameserver 10.0.0.53\n"
	r, err = KeyfileDrift(DriftRequest{
		Keyfiles:   []KeyfileText{{Path: "eth0.nmconnection", Text: eth0Keyfile}},
		Snapshot:   json.RawMessage(strings.Replace(eth0Host, "1500", "9000", 1)),
		ResolvConf: &resolv,
	})
	if err != nil || r.HasDrift() || r.DNS.Status != "compared" {
		t.Fatalf("%+v %v", r, err)
	}
	// No keyfile at all is a request, and nothing differs.
	r, err = KeyfileDrift(DriftRequest{Keyfiles: []KeyfileText{}, Snapshot: json.RawMessage(eth0Host)})
	if err != nil || r.HasDrift() || len(r.Matched) != 0 {
		t.Fatalf("%+v %v", r, err)
	}
}

func TestKeyfileDriftDirs(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "eth0.nmconnection")
	if err := os.WriteFile(path, []byte(eth0Keyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := KeyfileDrift(DriftRequest{Dirs: []string{filepath.Join(dir, "missing"), dir}, Snapshot: json.RawMessage(eth0Host)})
	if err != nil {
		t.Fatal(err)
	}
	// NetworkManager loads root's files only; anyone else's is refused, and said so.
	if info.Sys().(*syscall.Stat_t).Uid == 0 {
		if len(r.Differences) != 1 || r.Differences[0].Field != "mtu" || r.Differences[0].Profile.File != path {
			t.Fatalf("%+v", r)
		}
	} else if len(r.NotLoaded) != 1 || !strings.Contains(string(r.NotLoaded[0].Reason), `"insecure"`) {
		t.Fatalf("%+v", r)
	}
	var e *Error
	if _, err := KeyfileDrift(DriftRequest{Dirs: []string{path}, Snapshot: json.RawMessage(eth0Host)}); !errors.As(err, &e) ||
		e.Status != StatusInternal || e.Kind != "io" || !strings.Contains(string(e.JSON), `"file":"`+path+`"`) {
		t.Fatalf("a file as a directory: %#v", err)
	}
}

func TestKeyfileDriftErrors(t *testing.T) {
	var e *Error
	cases := []struct {
		req  DriftRequest
		path string
		text string
	}{
		{DriftRequest{Snapshot: json.RawMessage(eth0Host)}, "", "give `keyfiles`"},
		{DriftRequest{Keyfiles: []KeyfileText{}, Dirs: []string{}}, "dirs", "not both"},
		{DriftRequest{Keyfiles: []KeyfileText{}, Snapshot: json.RawMessage(`{"links": 3}`)}, "snapshot.links", "invalid type"},
	}
	for _, c := range cases {
		_, err := KeyfileDrift(c.req)
		if !errors.As(err, &e) || !e.Rejected() || e.Kind != "invalid_request" || e.Path != c.path || !strings.Contains(e.Message, c.text) {
			t.Errorf("%+v: %#v", c.req, err)
		}
	}
	// An unknown field is named (DriftRequest cannot write one; the wire can).
	_, err := decode[DriftReport](call(driftFn, `{"keyfiles": [], "snapshot": {}, "resolv": ""}`))
	if !errors.As(err, &e) || e.Kind != "invalid_request" || e.Path != "resolv" || !strings.Contains(e.Message, "unknown field `resolv`") {
		t.Fatalf("%#v", err)
	}
	_, err = decode[DriftReport](call(driftFn, `{"keyfiles": [{"path": "a", "txt": ""}], "snapshot": {}}`))
	if !errors.As(err, &e) || e.Path != "keyfiles[0].txt" {
		t.Fatalf("%#v", err)
	}
}
