// Copyright 2026 The warmgate Authors
// SPDX-License-Identifier: Apache-2.0

package bench

import "syscall"

// childSysProcAttr puts a child in its own process group, so that a Ctrl-C
// at the terminal reaches the suite alone and the suite stops its children
// in order, and has the kernel send it SIGTERM should the suite die without
// stopping it (SIGTERM, not SIGKILL: nginx's master then stops its workers).
func childSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// fileLimit is this process's limit on open files (children inherit it);
// 0 when unknown.
func fileLimit() int {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		return 0
	}
	return int(min(l.Cur, 1<<30))
}
