// Package ui serves Coldtrace's web UI: the single-page app built by Vite
// into ui/dist (npm run build) and embedded into the binary. When the UI was
// not built (a clone compiled without Node.js), it serves a page that says
// how to build it, so `go build` never depends on Node.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/gzip"
)

// dist holds the build output. The committed dist/.keep makes the pattern
// match on a clone where the UI was never built.
//
//go:embed all:dist
var dist embed.FS

//go:embed placeholder.html
var placeholder []byte

// embedded is the App of the embedded files, read on first use: embedded
// files cannot fail to read, so an error here is a bug in the build.
var embedded = sync.OnceValue(func() *App {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(fmt.Sprintf("ui: embedded dist: %v", err))
	}
	app, err := New(sub)
	if err != nil {
		panic(fmt.Sprintf("ui: embedded dist: %v", err))
	}
	return app
})

// Handler serves the embedded web UI. Mount it after the REST API, for
// every other GET path: it answers client-side routes with index.html.
func Handler() http.Handler { return embedded() }

// Built reports whether the binary embeds a built UI (false: it serves the
// page that says how to build it).
func Built() bool { return embedded().Built() }

// file is one servable file, read and compressed once.
type file struct {
	body        []byte
	gzipped     []byte // nil when compression does not pay
	contentType string
	etag        string
	immutable   bool // content-hashed name: cache for a year
}

// App serves a built single-page app from a file tree: files by path, and
// index.html for any other GET path so client-side routes work on reload
// and in shared links.
type App struct {
	files map[string]*file // by path without the leading slash
	index *file
}

// New reads every file of fsys (the root of a Vite build: index.html,
// assets/...). Without index.html, the App serves the how-to-build page.
func New(fsys fs.FS) (*App, error) {
	h := &App{files: map[string]*file{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return nil
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		h.files[p] = newFile(p, body, strings.HasPrefix(p, "assets/"))
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ui: reading built files: %w", err)
	}
	if idx, ok := h.files["index.html"]; ok {
		h.index = idx
	} else {
		h.files = map[string]*file{}
		h.index = newFile("index.html", placeholder, false)
	}
	return h, nil
}

func newFile(name string, body []byte, immutable bool) *file {
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = http.DetectContentType(body)
	}
	sum := sha256.Sum256(body)
	f := &file{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`, immutable: immutable}
	if compressible(ct) && len(body) > 512 {
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		if buf.Len() < len(body)*9/10 {
			f.gzipped = buf.Bytes()
		}
	}
	return f
}

func compressible(contentType string) bool {
	for _, p := range []string{"text/", "application/javascript", "application/json", "image/svg+xml", "application/wasm"} {
		if strings.HasPrefix(contentType, p) {
			return true
		}
	}
	return false
}

// Built reports whether h serves a built UI (false: the how-to-build page).
func (h *App) Built() bool { return len(h.files) > 0 }

func (h *App) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	// API paths belong to the REST API: a typo there must be a 404, never
	// the app. So do the operational endpoints: with --admin-addr they are
	// served elsewhere, and a probe of this listener must not see an HTML
	// 200 and call it healthy.
	if p == "api" || strings.HasPrefix(p, "api/") || operational[p] {
		http.NotFound(w, r)
		return
	}
	f, ok := h.files[p]
	if !ok {
		if p != "index.html" && asksForFile(p) {
			http.NotFound(w, r)
			return
		}
		f = h.index
	}
	serve(w, r, f)
}

// asksForFile reports whether a path that matches no built file asks for a
// file rather than a client-side route: anything under assets/ (a stale tab
// asking for a chunk of an older build), or a name with an extension at the
// top (favicon.ico, robots.txt, .keep). Deeper paths are routes even with a
// dot in them: /functions/orders.v2 names a function, and must survive a
// reload.
func asksForFile(p string) bool {
	if strings.HasPrefix(p, "assets/") {
		return true
	}
	return !strings.Contains(p, "/") && path.Ext(p) != ""
}

var operational = map[string]bool{"metrics": true, "healthz": true, "readyz": true}

func serve(w http.ResponseWriter, r *http.Request, f *file) {
	hdr := w.Header()
	hdr.Set("Content-Type", f.contentType)
	hdr.Set("X-Content-Type-Options", "nosniff")
	hdr.Set("ETag", f.etag)
	if f.immutable {
		hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		// index.html names the current chunks: always revalidate it.
		hdr.Set("Cache-Control", "no-cache")
	}
	body := f.body
	if f.gzipped != nil {
		hdr.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r.Header.Get("Accept-Encoding")) {
			hdr.Set("Content-Encoding", "gzip")
			// A different representation needs its own validator.
			hdr.Set("ETag", strings.TrimSuffix(f.etag, `"`)+`-gz"`)
			body = f.gzipped
		}
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		name = strings.ToLower(strings.TrimSpace(name))
		if name != "gzip" && name != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.ToLower(params), " ", "")
		if q == "q=0" || q == "q=0.0" || q == "q=0.00" || q == "q=0.000" {
			return false
		}
		return true
	}
	return false
}
