module example.invalid/bmnet/examples/go-installer

go 1.19

require example.invalid/bmnet/go/bmnet v0.0.0

replace example.invalid/bmnet/go/bmnet => ../../crates/bm-capi/go/bmnet
