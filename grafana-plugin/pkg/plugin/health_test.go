package plugin_test

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/grafana/grafana-plugin-sdk-go/backend"
)

func TestCheckHealth(t *testing.T) {
	check := func(t *testing.T, s backend.DataSourceInstanceSettings) *backend.CheckHealthResult {
		t.Helper()
		res, err := newDatasource(t, s).CheckHealth(t.Context(), &backend.CheckHealthRequest{})
		if err != nil {
			t.Fatalf("CheckHealth: %v", err)
		}
		return res
	}
	t.Run("working", func(t *testing.T) {
		res := check(t, defaultSettings())
		want := fmt.Sprintf("%d spans stored", seeded.Spans)
		if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, want) || !strings.Contains(res.Message, "embedded ClickHouse") {
			t.Errorf("health = %v %q, want OK with %q", res.Status, res.Message, want)
		}
		t.Log(res.Message)
	})
	t.Run("the API's own address", func(t *testing.T) {
		if res := check(t, instanceSettings(map[string]any{"url": coldtraceSrv.URL + "/api/v1/"}, "")); res.Status != backend.HealthStatusOk {
			t.Errorf("health = %v %q", res.Status, res.Message)
		}
	})
	t.Run("url from the data source's top-level URL", func(t *testing.T) {
		s := instanceSettings(map[string]any{}, "")
		s.URL = coldtraceSrv.URL + "/"
		if res := check(t, s); res.Status != backend.HealthStatusOk {
			t.Errorf("health = %v %q", res.Status, res.Message)
		}
	})
	t.Run("another tenant sees no spans", func(t *testing.T) {
		res := check(t, instanceSettings(map[string]any{"url": coldtraceSrv.URL, "tenant": "someone-else"}, ""))
		if res.Status != backend.HealthStatusOk || !strings.Contains(res.Message, "0 spans stored") || !strings.Contains(res.Message, "someone-else") {
			t.Errorf("health = %v %q", res.Status, res.Message)
		}
	})
	for name, tc := range map[string]struct {
		jsonData map[string]any
		text     string
	}{
		"no url":        {map[string]any{}, "URL is not set"},
		"not http":      {map[string]any{"url": "ftp://example.org"}, "http://"},
		"bad timeout":   {map[string]any{"url": coldtraceSrv.URL, "timeoutSeconds": -1}, "timeoutSeconds"},
		"nothing there": {map[string]any{"url": "http://" + closedAddr(t)}, "cannot reach Coldtrace"},
		"fragment":      {map[string]any{"url": coldtraceSrv.URL + "#top"}, "fragment"},
		// Below another path the web UI answers with HTML.
		"not the api": {map[string]any{"url": coldtraceSrv.URL + "/nope"}, "is the URL a Coldtrace"},
	} {
		t.Run(name, func(t *testing.T) {
			res := check(t, instanceSettings(tc.jsonData, ""))
			if res.Status != backend.HealthStatusError || !strings.Contains(res.Message, tc.text) {
				t.Errorf("health = %v %q, want error containing %q", res.Status, res.Message, tc.text)
			}
		})
	}
}

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestSettingsErrorsReachEveryQuery(t *testing.T) {
	d := newDatasource(t, instanceSettings(map[string]any{"url": "not a url"}, ""))
	r := queryOne(t, d, dataQuery(map[string]any{"queryType": "functions"}))
	if r.Error == nil || !strings.Contains(r.Error.Error(), "data source settings") {
		t.Errorf("query error = %v", r.Error)
	}
}

func TestUnreachableColdtraceIsAFrameError(t *testing.T) {
	d := newDatasource(t, instanceSettings(map[string]any{"url": "http://" + closedAddr(t)}, ""))
	r := queryOne(t, d, dataQuery(map[string]any{"queryType": "functions"}))
	if r.Error == nil || r.Status != backend.StatusBadGateway || !strings.Contains(r.Error.Error(), "cannot reach Coldtrace") {
		t.Errorf("status %d error %v", r.Status, r.Error)
	}
}
