package bmnet

/*
#include <stdlib.h>
#include "bmnet.h"
*/
import "C"

import "encoding/json"

// KeyfileDiagnostic is one finding about a NetworkManager keyfile (bm_nmconn_check, and
// `bmnet nmconn check --json`).
type KeyfileDiagnostic struct {
	Code     string  `json:"code"`     // stable: "integer-octal", "address-dropped", ...
	Severity string  `json:"severity"` // "error" or "warning"
	Line     int     `json:"line"`     // 1-based; 0 for the file as a whole
	Column   int     `json:"column"`   // 1-based, in characters
	Group    *string `json:"group"`
	Key      *string `json:"key"`
	Message  string  `json:"message"`
	Help     *string `json:"help"` // the fix, where one is known
}

// KeyfileProfile is the identity a keyfile declares.
type KeyfileProfile struct {
	ID            *string `json:"id"`
	UUID          *string `json:"uuid"`
	Type          *string `json:"type"`
	InterfaceName *string `json:"interface_name"`
	Controller    *string `json:"controller"`
}

// KeyfileReport is the verdict on one file.
type KeyfileReport struct {
	Name        *string             `json:"name"`
	Profile     *KeyfileProfile     `json:"profile"`
	Diagnostics []KeyfileDiagnostic `json:"diagnostics"`
}

// KeyfileCheck is the verdict on a set of files.
type KeyfileCheck struct {
	OK       bool            `json:"ok"` // no errors
	Errors   int             `json:"errors"`
	Warnings int             `json:"warnings"`
	Files    []KeyfileReport `json:"files"`
}

// Keyfile is one file to check; Mode and UID are the file's metadata, when known.
type Keyfile struct {
	Name string  `json:"name,omitempty"`
	Text string  `json:"text"`
	Mode *uint32 `json:"mode,omitempty"`
	UID  *uint32 `json:"uid,omitempty"`
}

func nmconnCheckFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_nmconn_check(in, out, err)
}

// CheckKeyfile checks one keyfile's text for NetworkManager 1.42.
func CheckKeyfile(text string) (*KeyfileCheck, error) {
	return decode[KeyfileCheck](call(nmconnCheckFn, text))
}

// CheckKeyfiles checks a set of files (a system-connections directory) for a NetworkManager
// version ("1.42" when empty), with the rules over the set: duplicate UUIDs, dangling
// controllers, insecure permissions.
func CheckKeyfiles(files []Keyfile, nmVersion string) (*KeyfileCheck, error) {
	req := struct {
		Files     []Keyfile `json:"files"`
		NMVersion string    `json:"nm_version,omitempty"`
	}{files, nmVersion}
	if req.Files == nil {
		req.Files = []Keyfile{}
	}
	in, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	return decode[KeyfileCheck](call(nmconnCheckFn, string(in)))
}

// RenderedKeyfile is one profile rendered from a state.
type RenderedKeyfile struct {
	Name     string `json:"name"`     // e.g. "bond0.nmconnection"
	Contents string `json:"contents"` // the keyfile, as NetworkManager 1.42 writes it
}

// RenderedKeyfiles is the result of RenderKeyfiles: write each file with mode 0600.
type RenderedKeyfiles struct {
	Files    []RenderedKeyfile `json:"files"`
	Warnings []string          `json:"warnings"`
}

func nmconnRenderFn(in *C.char, out **C.char, err **C.char) C.int {
	return C.bm_nmconn_render(in, out, err)
}

// RenderKeyfiles renders an nmstate desired state, or a whole NodeNetworkConfigurationPolicy,
// in YAML or JSON, to NetworkManager 1.42 keyfiles. A state NetworkManager would refuse or
// alter is an *Error with Kind "invalid_state" (Path names the field) or "invalid_profiles".
func RenderKeyfiles(state string) (*RenderedKeyfiles, error) {
	return decode[RenderedKeyfiles](call(nmconnRenderFn, state))
}
