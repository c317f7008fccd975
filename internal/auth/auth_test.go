package auth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/coldtrace/coldtrace/internal/tenant"
)

func TestTokensFileScopesAndTenants(t *testing.T) {
	sum := sha256.Sum256([]byte("reader-token-0123456789"))
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	os.WriteFile(file, []byte(`tokens:
  - name: ingest-acme
    token: ingest-token-0123456789
    scopes: [ingest]
    tenant: acme
  - name: reader
    sha256: `+hex.EncodeToString(sum[:])+`
    scopes: [query]
  - name: ops
    token: admin-token-0123456789
    scopes: [admin]
`), 0o600)
	a, err := New(Config{TokensFile: file})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		token string
		scope Scope
		ok    bool
	}{
		{"ingest-token-0123456789", ScopeIngest, true},
		{"ingest-token-0123456789", ScopeQuery, false},
		{"reader-token-0123456789", ScopeQuery, true},
		{"reader-token-0123456789", ScopeIngest, false},
		{"admin-token-0123456789", ScopeIngest, true}, // admin implies every scope
		{"admin-token-0123456789", ScopeInvoke, true},
		{"", ScopeQuery, false},
		{"reader-token-012345678", ScopeQuery, false},
	}
	for _, c := range cases {
		if _, err := a.Check(c.token, c.scope); (err == nil) != c.ok {
			t.Errorf("Check(%q, %s): %v, want ok=%v", c.token, c.scope, err, c.ok)
		}
	}
	// Refusals look the same whatever was wrong.
	_, e1 := a.Check("", ScopeQuery)
	_, e2 := a.Check("nope-nope-nope-nope", ScopeQuery)
	_, e3 := a.Check("ingest-token-0123456789", ScopeQuery)
	if e1 != e2 || e2 != e3 {
		t.Errorf("refusals differ: %v / %v / %v", e1, e2, e3)
	}
}

func TestBadTokensFiles(t *testing.T) {
	for name, body := range map[string]string{
		"unknown scope": "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [write]\n",
		"short token":   "tokens:\n  - token: short\n    scopes: [query]\n",
		"no scopes":     "tokens:\n  - token: abcdefghijklmnopqrst\n",
		"both forms":    "tokens:\n  - token: abcdefghijklmnopqrst\n    sha256: 00\n    scopes: [query]\n",
		"empty":         "tokens: []\n",
		"not yaml":      "{{{",
		// A misspelt key must not leave a token unbound (every tenant).
		"misspelt tenant":  "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [query]\n    tennant: acme\n",
		"tenants list":     "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [query]\n    tenants: [acme]\n",
		"long tenant":      "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [query]\n    tenant: " + strings.Repeat("t", 129) + "\n",
		"padded tenant":    "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [query]\n    tenant: ' acme'\n",
		"bound admin":      "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [admin]\n    tenant: acme\n",
		"same token twice": "tokens:\n  - token: abcdefghijklmnopqrst\n    scopes: [query]\n    tenant: acme\n  - token: abcdefghijklmnopqrst\n    scopes: [ingest]\n",
	} {
		file := filepath.Join(t.TempDir(), "t.yaml")
		os.WriteFile(file, []byte(body), 0o600)
		_, err := New(Config{TokensFile: file})
		if err == nil {
			t.Errorf("%s: accepted", name)
		} else if strings.Contains(err.Error(), "struct") {
			t.Errorf("%s: the error shows Go: %v", name, err)
		}
	}
	if _, err := New(Config{Token: "short"}); err == nil {
		t.Error("short --auth-token accepted")
	}
}

func TestHTTPMiddleware(t *testing.T) {
	file := filepath.Join(t.TempDir(), "tokens.yaml")
	os.WriteFile(file, []byte("tokens:\n  - token: acme-query-token-0001\n    scopes: [query]\n    tenant: acme\n  - token: any-query-token-000001\n    scopes: [query]\n"), 0o600)
	a, err := New(Config{TokensFile: file})
	if err != nil {
		t.Fatal(err)
	}
	var seen string
	h := a.HTTP(ScopeQuery, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = tenant.FromContext(r.Context()) + "|" + r.Header.Get(tenant.Header)
	}))
	do := func(token, tenantHeader string) int {
		r := httptest.NewRequest("GET", "/api/v1/services", nil)
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		if tenantHeader != "" {
			r.Header.Set(tenant.Header, tenantHeader)
		}
		w := httptest.NewRecorder()
		seen = ""
		h.ServeHTTP(w, r)
		if w.Code == 401 && (w.Body.String() != "unauthorized\n" || w.Header().Get("WWW-Authenticate") == "") {
			t.Errorf("401 body %q, WWW-Authenticate %q", w.Body.String(), w.Header().Get("WWW-Authenticate"))
		}
		return w.Code
	}
	if code := do("", ""); code != 401 {
		t.Errorf("no token: %d", code)
	}
	if code := do("acme-query-token-0001", ""); code != 200 || seen != "acme|acme" {
		t.Errorf("bound token without header: %d, tenant %q", code, seen)
	}
	if code := do("acme-query-token-0001", "globex"); code != 401 {
		t.Errorf("bound token naming another tenant: %d", code)
	}
	if code := do("any-query-token-000001", "globex"); code != 200 || seen != "globex|globex" {
		t.Errorf("unbound token with a header: %d, tenant %q", code, seen)
	}
	// No authentication configured: the header alone names the tenant.
	var none *Authenticator
	h2 := none.HTTP(ScopeQuery, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	r := httptest.NewRequest("GET", "/", nil)
	w := httptest.NewRecorder()
	h2.ServeHTTP(w, r)
	if w.Code != 200 {
		t.Errorf("nil authenticator refused: %d", w.Code)
	}
}
