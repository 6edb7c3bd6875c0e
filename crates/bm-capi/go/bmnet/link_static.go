//go:build !bmnet_shared

package bmnet

// Static linking is the default: bmnet.pc names libbmnet.a, so the Go binary carries the
// library and needs nothing at run time.

// #cgo pkg-config: bmnet
import "C"
