package host

import (
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/coldtrace/coldtrace/runtime/runtimeapi"
)

// errorPayload is Lambda's JSON error body.
func errorPayload(fe *runtimeapi.FunctionError) []byte {
	b, _ := json.Marshal(fe)
	return b
}

// Report is Lambda's REPORT line for the invocation.
func (r *Response) Report() string {
	var b strings.Builder
	fmt.Fprintf(&b, "REPORT RequestId: %s\tDuration: %.2f ms\tBilled Duration: %d ms\tMemory Size: %d MB\tMax Memory Used: %d MB",
		r.RequestID, float64(r.Duration.Microseconds())/1000, r.Billed.Milliseconds(), r.Function.MemoryMB, (r.MaxMemory+(1<<20)-1)>>20)
	if r.Cold {
		fmt.Fprintf(&b, "\tInit Duration: %.2f ms", float64(r.Init.Microseconds())/1000)
	}
	if r.ErrorType != "" {
		fmt.Fprintf(&b, "\tStatus: error\tError Type: %s", r.ErrorType)
	}
	return b.String()
}

// LogTail is the end of the invocation's log as Lambda's LogType Tail
// returns it: START, the function's lines, END and REPORT, the last max
// bytes of them (Lambda: 4 KB), cut at a character, not a line: a long
// last line is shown in part rather than dropped.
func (r *Response) LogTail(max int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "START RequestId: %s Version: %s\n", r.RequestID, r.Function.VersionString())
	for _, l := range r.Logs {
		b.WriteString(l.Text)
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "END RequestId: %s\n%s\n", r.RequestID, r.Report())
	s := b.String()
	if len(s) <= max {
		return s
	}
	s = s[len(s)-max:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return s
}
