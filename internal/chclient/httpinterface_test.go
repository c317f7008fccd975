package chclient

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
)

// The engine's HTTP interface answers ClickHouse clients on loopback and
// refuses what a web page could make a browser send it: a cross-site POST
// (Origin) or a DNS-rebound name in Host.
func TestHTTPInterfaceRefusesBrowsers(t *testing.T) {
	c := openEmbedded(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, err := c.ServeHTTPInterface(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + addr.String() + "/"
	post := func(mutate func(*http.Request)) (int, string) {
		t.Helper()
		req, err := http.NewRequest(http.MethodPost, url, strings.NewReader("SELECT 40 + 2"))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "text/plain")
		mutate(req)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, strings.TrimSpace(string(b))
	}
	for name, tc := range map[string]struct {
		mutate func(*http.Request)
		status int
	}{
		"a client":               {func(*http.Request) {}, http.StatusOK},
		"localhost":              {func(r *http.Request) { r.Host = "localhost:8123" }, http.StatusOK},
		"IPv6 loopback":          {func(r *http.Request) { r.Host = "[::1]:8123" }, http.StatusOK},
		"a cross-site page":      {func(r *http.Request) { r.Header.Set("Origin", "http://attacker.example") }, http.StatusForbidden},
		"a page's fetch":         {func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, http.StatusForbidden},
		"a DNS-rebound name":     {func(r *http.Request) { r.Host = "attacker.example:8123" }, http.StatusForbidden},
		"a loopback-like prefix": {func(r *http.Request) { r.Host = "127.0.0.1.attacker.example" }, http.StatusForbidden},
	} {
		status, body := post(tc.mutate)
		if status != tc.status {
			t.Errorf("%s: status %d (%s), want %d", name, status, body, tc.status)
		}
		if status == http.StatusOK && body != "42" {
			t.Errorf("%s: answer %q, want 42", name, body)
		}
	}
}
