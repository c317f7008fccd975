package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// rawGet requests path with acceptEncoding and returns the answer as sent,
// still compressed.
func rawGet(t *testing.T, ts *httptest.Server, path, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, ts.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if acceptEncoding != "" {
		req.Header.Set("Accept-Encoding", acceptEncoding)
	}
	// A transport that leaves Content-Encoding to the test.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	return res, body
}

// decompress undoes the answer's Content-Encoding.
func decompress(t *testing.T, res *http.Response, body []byte) []byte {
	t.Helper()
	var r io.Reader
	switch enc := res.Header.Get("Content-Encoding"); enc {
	case "":
		return body
	case "gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("gzip: %v", err)
		}
		r = zr
	case "zstd":
		zr, err := zstd.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatalf("zstd: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		t.Fatalf("unexpected Content-Encoding %q", enc)
	}
	out, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("%s body: %v", res.Header.Get("Content-Encoding"), err)
	}
	return out
}

// sameJSON reports whether a and b are the same JSON value.
func sameJSON(t *testing.T, a, b []byte) bool {
	t.Helper()
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		t.Fatalf("not JSON: %v: %.300s", err, a)
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		t.Fatalf("not JSON: %v: %.300s", err, b)
	}
	ja, _ := json.Marshal(va)
	jb, _ := json.Marshal(vb)
	return bytes.Equal(ja, jb)
}

// API answers are compressed as the client accepts: zstd or gzip, the same
// JSON once decompressed; small answers and clients that accept neither
// get them plain.
func testCompression(t *testing.T) {
	f, s := setup(t)
	ts := apiServer(t, s)
	for _, path := range []string{
		"/api/v1/traces/" + hexTrace(f.coldTrace), // streamed
		"/api/v1/traces?limit=50&" + window(f),
		"/api/v1/openapi.json",
		"/api/traces/" + hexTrace(f.coldTrace), // Jaeger, streamed
		"/api/traces?service=pager&lookback=1h&limit=50",
	} {
		plainRes, plain := rawGet(t, ts, path, "")
		if plainRes.StatusCode != http.StatusOK || plainRes.Header.Get("Content-Encoding") != "" {
			t.Fatalf("%s without Accept-Encoding: %d, Content-Encoding %q", path, plainRes.StatusCode, plainRes.Header.Get("Content-Encoding"))
		}
		if len(plain) < 1400 {
			t.Fatalf("%s: %d bytes, too small to show compression", path, len(plain))
		}
		for accept, want := range map[string]string{
			"gzip":                       "gzip",
			"zstd":                       "zstd",
			"gzip, deflate, br, zstd":    "zstd", // what Chromium sends
			"gzip;q=0, identity":         "",
			"br":                         "",
			"deflate, gzip;q=0.5, *;q=0": "gzip",
		} {
			res, body := rawGet(t, ts, path, accept)
			if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != want {
				t.Errorf("%s, Accept-Encoding %q: %d, Content-Encoding %q, want %q", path, accept, res.StatusCode, res.Header.Get("Content-Encoding"), want)
				continue
			}
			if !strings.Contains(res.Header.Get("Vary"), "Accept-Encoding") {
				t.Errorf("%s: Vary %q", path, res.Header.Get("Vary"))
			}
			if want != "" && len(body) >= len(plain)/2 {
				t.Errorf("%s as %s: %d bytes of %d plain", path, want, len(body), len(plain))
			}
			if !sameJSON(t, decompress(t, res, body), plain) {
				t.Errorf("%s as %s: decompressed answer differs from the plain one", path, want)
			}
		}
	}
	// An error answer is small: plain, still the JSON error.
	res, body := rawGet(t, ts, "/api/v1/traces/xyz", "gzip")
	if res.StatusCode != http.StatusBadRequest || res.Header.Get("Content-Encoding") != "" || !strings.Contains(string(body), `"bad_parameter"`) {
		t.Errorf("error answer: %d %q %s", res.StatusCode, res.Header.Get("Content-Encoding"), body)
	}
}

// The web UI's files are served as the UI handler gives them: it
// compresses them itself, so the API's compression never touches them.
func TestUIFilesNotRecompressed(t *testing.T) {
	script := []byte(strings.Repeat("console.log('coldtrace');\n", 500))
	ts := httptest.NewServer(offlineServer(t, http.FileServerFS(fstest.MapFS{
		"index.html":    {Data: []byte("<html>index</html>")},
		"assets/app.js": {Data: script},
	})))
	defer ts.Close()
	for _, path := range []string{"/assets/app.js", "/"} {
		res, body := rawGet(t, ts, path, "gzip, zstd")
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: %d, Content-Encoding %q", path, res.StatusCode, res.Header.Get("Content-Encoding"))
		}
		if path == "/assets/app.js" && !bytes.Equal(body, script) {
			t.Errorf("%s: body changed (%d bytes of %d)", path, len(body), len(script))
		}
	}
}
