// Package testmain ends the test binaries that load the embedded engine.
package testmain

import (
	"os"
	"syscall"
	"testing"
)

// Run runs m's tests and exits with their result. Under the race detector
// a binary that has loaded libchdb dies with SIGSEGV in the race runtime's
// exit handler (runtime.racefini), after its tests passed: libchdb's
// threads outlive them. m.Run has by then failed every test in which a race
// was seen, and the binary if one was seen outside a test, so under -race
// the binary leaves through the exit system call and skips that handler.
// cleanup, if not nil, runs before the exit.
func Run(m *testing.M, cleanup func()) {
	code := m.Run()
	if cleanup != nil {
		cleanup()
	}
	if raceEnabled {
		syscall.Exit(code)
	}
	os.Exit(code)
}
