package coldtrace

import "testing"

func TestErrorNamesTheParameterOnce(t *testing.T) {
	for _, c := range []struct {
		err  Error
		want string
	}{
		{Error{HTTPStatus: 400, Code: "bad_parameter", Parameter: "start", Endpoint: "/traces",
			Message: "start: the window from start to end is 720h0m0s, longer than the maximum 168h0m0s"},
			"Coldtrace API /traces answered 400 (bad_parameter): start: the window from start to end is 720h0m0s, longer than the maximum 168h0m0s"},
		{Error{HTTPStatus: 400, Code: "bad_parameter", Parameter: "limit", Endpoint: "/traces", Message: "must be positive"},
			"Coldtrace API /traces answered 400 (bad_parameter): parameter limit: must be positive"},
	} {
		if got := c.err.Error(); got != c.want {
			t.Errorf("got  %q\nwant %q", got, c.want)
		}
	}
}
