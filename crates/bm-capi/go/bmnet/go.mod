module example.invalid/bmnet/go/bmnet

go 1.19
