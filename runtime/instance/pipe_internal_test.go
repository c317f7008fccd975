package instance

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// Lines are handed on whole, however the pipe's reads split them; a line
// longer than the limit in pieces of at most the limit, cut between
// characters, with no empty line after it.
func TestLineReaderCutsLongLines(t *testing.T) {
	var got []string
	r := &lineReader{maxLine: 8, emit: func(line []byte, _ time.Time) { got = append(got, string(line)) }}
	for _, read := range []string{"short\nan", "other\n", "€€€€€€", "€\n", "0123456789abcdef", "\nend\n"} {
		r.consume([]byte(read))
	}
	want := []string{"short", "another", "€€", "€€", "€€", "€", "01234567", "89abcdef", "end"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("lines %q, want %q", got, want)
	}
	for _, l := range got {
		if len(l) > 8 || !utf8.ValidString(l) || l == "" {
			t.Errorf("piece %q: longer than the limit, split a character, or empty", l)
		}
	}
}
