package gateway

import "syscall"

// errAddrInUse is what net.Listen wraps when the port is taken.
var errAddrInUse = syscall.EADDRINUSE
