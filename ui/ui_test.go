package ui

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"testing/fstest"
)

const indexHTML = `<!doctype html><html><body><div id="root"></div><script type="module" src="/assets/index-abc123.js"></script></body></html>`

func builtApp(t *testing.T) (*App, string) {
	t.Helper()
	js := "console.log('coldtrace');\n" + strings.Repeat("export const x = 'some compressible javascript';\n", 200)
	app, err := New(fstest.MapFS{
		"index.html":             {Data: []byte(indexHTML)},
		"assets/index-abc123.js": {Data: []byte(js)},
		"assets/logo.svg":        {Data: []byte(`<svg xmlns="http://www.w3.org/2000/svg"></svg>`)},
		".keep":                  {Data: []byte("placeholder")},
	})
	if err != nil {
		t.Fatal(err)
	}
	return app, js
}

type response struct {
	status int
	header http.Header
	body   string
}

// get sends a real HTTP request to srv. The transport's own gzip handling
// is off so the test sees exactly what was sent.
func get(t *testing.T, srv *httptest.Server, method, path string, header map[string]string) response {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, string(body)}
}

func TestBuiltAppServesFilesAndFallsBackToIndex(t *testing.T) {
	app, js := builtApp(t)
	if !app.Built() {
		t.Fatal("Built() = false with an index.html")
	}
	srv := httptest.NewServer(app)
	defer srv.Close()

	for _, p := range []string{
		"/", "/index.html", "/functions/checkout", "/traces/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7", "/map",
		// Routes with a dot: a function named orders.v2, a service named api.example.com.
		"/functions/orders.v2", "/functions/orders.v2?version=3", "/functions/api.example.com",
	} {
		r := get(t, srv, http.MethodGet, p, nil)
		if r.status != http.StatusOK || r.body != indexHTML {
			t.Errorf("GET %s: status %d, body %.60q; want index.html", p, r.status, r.body)
		}
		if got := r.header.Get("Cache-Control"); got != "no-cache" {
			t.Errorf("GET %s: Cache-Control %q, want no-cache", p, got)
		}
		if got := r.header.Get("Content-Type"); !strings.HasPrefix(got, "text/html") {
			t.Errorf("GET %s: Content-Type %q", p, got)
		}
	}

	r := get(t, srv, http.MethodGet, "/assets/index-abc123.js", nil)
	if r.status != http.StatusOK || r.body != js {
		t.Fatalf("GET asset: status %d, %d bytes", r.status, len(r.body))
	}
	if ct := r.header.Get("Content-Type"); !strings.Contains(ct, "javascript") {
		t.Errorf("asset Content-Type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "immutable") {
		t.Errorf("hashed asset Cache-Control %q, want immutable", cc)
	}
	if r.header.Get("Content-Encoding") != "" {
		t.Errorf("gzip sent to a client that did not ask for it")
	}
}

func TestBuiltAppCompressesWhenAsked(t *testing.T) {
	app, js := builtApp(t)
	srv := httptest.NewServer(app)
	defer srv.Close()

	r := get(t, srv, http.MethodGet, "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "br, gzip;q=0.8"})
	if r.header.Get("Content-Encoding") != "gzip" {
		t.Fatalf("Content-Encoding %q, want gzip", r.header.Get("Content-Encoding"))
	}
	if len(r.body) >= len(js) {
		t.Errorf("gzipped body %d bytes, not smaller than %d", len(r.body), len(js))
	}
	zr, err := gzip.NewReader(strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(plain, []byte(js)) {
		t.Error("gzipped body does not decompress to the file")
	}
	if !strings.Contains(r.header.Get("Vary"), "Accept-Encoding") {
		t.Errorf("Vary %q lacks Accept-Encoding", r.header.Get("Vary"))
	}

	refused := get(t, srv, http.MethodGet, "/assets/index-abc123.js", map[string]string{"Accept-Encoding": "gzip;q=0"})
	if refused.header.Get("Content-Encoding") != "" || refused.body != js {
		t.Errorf("gzip;q=0 still got Content-Encoding %q", refused.header.Get("Content-Encoding"))
	}
}

func TestBuiltAppRevalidates(t *testing.T) {
	app, _ := builtApp(t)
	srv := httptest.NewServer(app)
	defer srv.Close()
	first := get(t, srv, http.MethodGet, "/", nil)
	etag := first.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on index.html")
	}
	again := get(t, srv, http.MethodGet, "/", map[string]string{"If-None-Match": etag})
	if again.status != http.StatusNotModified {
		t.Errorf("If-None-Match: status %d, want 304", again.status)
	}
}

func TestBuiltAppRefusesWhatIsNotTheApp(t *testing.T) {
	app, _ := builtApp(t)
	srv := httptest.NewServer(app)
	defer srv.Close()
	cases := []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/assets/index-old999.js", http.StatusNotFound}, // a chunk of an older build
		{http.MethodGet, "/assets/logo-old999.svg", http.StatusNotFound},
		{http.MethodGet, "/assets/fonts/missing.woff2", http.StatusNotFound},
		{http.MethodGet, "/favicon.ico", http.StatusNotFound},
		{http.MethodGet, "/robots.txt", http.StatusNotFound},
		{http.MethodGet, "/.keep", http.StatusNotFound},
		{http.MethodGet, "/../ui.go", http.StatusNotFound},
		{http.MethodGet, "/assets/../../ui_test.go", http.StatusNotFound},
		{http.MethodGet, "/api", http.StatusNotFound},
		{http.MethodGet, "/api/v1/no-such-endpoint", http.StatusNotFound},
		{http.MethodGet, "/healthz", http.StatusNotFound}, // served by the admin listener, never the app
		{http.MethodGet, "/metrics", http.StatusNotFound},
		{http.MethodPost, "/", http.StatusMethodNotAllowed},
		{http.MethodDelete, "/assets/index-abc123.js", http.StatusMethodNotAllowed},
	}
	for _, c := range cases {
		r := get(t, srv, c.method, c.path, nil)
		if r.status != c.status {
			t.Errorf("%s %s: status %d, want %d", c.method, c.path, r.status, c.status)
		}
		if strings.Contains(r.body, `id="root"`) {
			t.Errorf("%s %s: answered with the app", c.method, c.path)
		}
	}
	head := get(t, srv, http.MethodHead, "/functions/x", nil)
	if head.status != http.StatusOK || head.body != "" {
		t.Errorf("HEAD: status %d, %d body bytes", head.status, len(head.body))
	}
}

func TestUnbuiltAppExplainsHowToBuild(t *testing.T) {
	app, err := New(fstest.MapFS{".keep": {Data: []byte("placeholder")}})
	if err != nil {
		t.Fatal(err)
	}
	if app.Built() {
		t.Fatal("Built() = true without index.html")
	}
	srv := httptest.NewServer(app)
	defer srv.Close()
	for _, p := range []string{"/", "/functions/checkout"} {
		r := get(t, srv, http.MethodGet, p, nil)
		if r.status != http.StatusOK || !strings.Contains(r.body, "npm run build") {
			t.Errorf("GET %s: status %d, body lacks the build instructions", p, r.status)
		}
	}
	if r := get(t, srv, http.MethodGet, "/.keep", nil); r.status != http.StatusNotFound {
		t.Errorf("GET /.keep: status %d, want 404", r.status)
	}
}

// The binary's own handler matches what is on disk: a built UI when
// ui/dist/index.html exists at build time, the build instructions otherwise.
func TestEmbeddedHandlerMatchesTheBuild(t *testing.T) {
	_, statErr := os.Stat("dist/index.html")
	onDisk := statErr == nil
	if Built() != onDisk {
		t.Fatalf("Built() = %v, dist/index.html present = %v", Built(), onDisk)
	}
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	r := get(t, srv, http.MethodGet, "/traces", nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET /traces: status %d", r.status)
	}
	want := "npm run build"
	if onDisk {
		want = `<div id="root">`
	}
	if !strings.Contains(r.body, want) {
		t.Errorf("GET /traces: body lacks %q", want)
	}
}
