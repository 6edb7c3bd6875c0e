//go:build bmnet_shared

package bmnet

// With -tags bmnet_shared, link libbmnet.so (bmnet-shared.pc); it must be on the loader's path
// at run time.

// #cgo pkg-config: bmnet-shared
import "C"
