package chdb

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is the kernel's struct sigaction on linux/amd64 and arm64.
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

// guardedSignals are the signals libchdb takes over. Go's runtime must keep
// them: with the engine's handlers a nil dereference in Go code kills the
// process instead of panicking. Signal 34 (SIGRTMIN+2 here) is left alone:
// the engine uses it internally.
var guardedSignals = []unix.Signal{
	unix.SIGSEGV, unix.SIGBUS, unix.SIGFPE, unix.SIGILL, unix.SIGTRAP,
	unix.SIGABRT, unix.SIGTSTP, unix.SIGSYS, unix.SIGINT, unix.SIGTERM,
	unix.SIGQUIT, unix.SIGHUP, unix.SIGPIPE, unix.SIGCHLD, unix.SIGUSR1, unix.SIGUSR2,
}

type savedSignals map[unix.Signal]kernelSigaction

func sigaction(sig unix.Signal, act, old *kernelSigaction) error {
	_, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig),
		uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(old)), 8, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

func saveSignals() savedSignals {
	s := make(savedSignals, len(guardedSignals))
	for _, sig := range guardedSignals {
		var old kernelSigaction
		if sigaction(sig, nil, &old) == nil {
			s[sig] = old
		}
	}
	return s
}

// restore puts back every saved handler and reports which ones the engine
// had replaced.
func (s savedSignals) restore() []unix.Signal {
	var changed []unix.Signal
	for sig, want := range s {
		var cur kernelSigaction
		if sigaction(sig, nil, &cur) == nil && cur != want {
			changed = append(changed, sig)
		}
		_ = sigaction(sig, &want, nil)
	}
	return changed
}
