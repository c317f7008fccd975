package host

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coldtrace/coldtrace/runtime/registry"
	"github.com/coldtrace/coldtrace/runtime/telemetry"
)

// LogType Tail returns the last 4 KB as Lambda does: a last line longer
// than that is cut, not dropped, and the cut never splits a character.
func TestLogTailKeepsTheEndOfALongLine(t *testing.T) {
	long := strings.Repeat("é", 5000) + "THE END OF THE LINE"
	r := &Response{RequestID: "req-1", Function: &registry.Function{Config: registry.Config{Name: "f", MemoryMB: 128}, Version: 1},
		Logs: []telemetry.LogLine{{Text: "first line"}, {Text: long}}}
	tail := r.LogTail(logTail)
	if len(tail) > logTail || !utf8.ValidString(tail) {
		t.Fatalf("tail of %d bytes, valid UTF-8 %v", len(tail), utf8.ValidString(tail))
	}
	if !strings.Contains(tail, "THE END OF THE LINE\nEND RequestId: req-1\nREPORT RequestId: req-1") {
		t.Errorf("tail lost the long last line: %q…", tail[:80])
	}
	if short := (&Response{RequestID: "req-2", Function: r.Function, Logs: []telemetry.LogLine{{Text: "hi"}}}).LogTail(logTail); !strings.HasPrefix(short, "START RequestId: req-2") {
		t.Errorf("short log: %q", short)
	}
}

const logTail = 4096
