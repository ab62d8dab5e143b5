package testenv

import "syscall"

// childAttr makes the kernel kill a started server if the test binary dies
// without running its cleanups.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
