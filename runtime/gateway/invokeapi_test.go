package gateway

import "testing"

func TestFunctionName(t *testing.T) {
	for in, want := range map[string][2]string{
		"hello":                         {"hello", ""},
		"hello:3":                       {"hello", "3"},
		"hello:$LATEST":                 {"hello", "$LATEST"},
		"000000000000:function:hello":   {"hello", ""},
		"000000000000:function:hello:2": {"hello", "2"},
		"arn:aws:lambda:local:000000000000:function:hello":    {"hello", ""},
		"arn:aws:lambda:local:000000000000:function:hello:v1": {"hello", "v1"},
	} {
		name, q := functionName(in)
		if name != want[0] || q != want[1] {
			t.Errorf("%s: %q %q, want %q %q", in, name, q, want[0], want[1])
		}
	}
}
