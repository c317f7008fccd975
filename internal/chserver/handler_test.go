package chserver_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/coldtrace/coldtrace/internal/chdb"
	"github.com/coldtrace/coldtrace/internal/chserver"
	"github.com/coldtrace/coldtrace/internal/chtest"
)

// server exposes the test binary's embedded engine over real HTTP.
func server(t *testing.T) *httptest.Server {
	t.Helper()
	chtest.Client(t) // boots the shared engine
	e, err := chdb.Open(chdb.Options{Path: chtest.DataDir(t) + "/clickhouse"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	srv := httptest.NewServer(chserver.NewHandler(e, nil))
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// A person or a tool without clickhouse-go gets plain text, like a server.
func TestPlainHTTPQuery(t *testing.T) {
	srv := server(t)
	code, _, body := get(t, srv.URL+"/?query="+url.QueryEscape("SELECT number, toString(number * 2) FROM numbers(3)"))
	if code != 200 || body != "0\t0\n1\t2\n2\t4\n" {
		t.Fatalf("%d %q", code, body)
	}
	code, _, body = get(t, srv.URL+"/ping")
	if code != 200 || body != "Ok.\n" {
		t.Fatalf("ping: %d %q", code, body)
	}
	code, h, body := get(t, srv.URL+"/?query="+url.QueryEscape("SELECT * FROM no_such_db.t"))
	if code != 404 || h.Get("X-ClickHouse-Exception-Code") != "81" || !strings.Contains(body, "UNKNOWN_DATABASE") {
		t.Fatalf("error: %d %v %q", code, h, body)
	}
	// Server-side parameters are bound, not interpolated.
	code, _, body = get(t, srv.URL+"/?param_x="+url.QueryEscape("it's; DROP")+"&query="+url.QueryEscape("SELECT {x:String} AS v FORMAT JSONEachRow"))
	if code != 200 || body != `{"v":"it's; DROP"}`+"\n" {
		t.Fatalf("param: %d %q", code, body)
	}
}

// Settings one request sets must not leak into the next request on the
// same engine connection.
func TestSettingsDoNotLeak(t *testing.T) {
	srv := server(t)
	q := url.QueryEscape("SELECT getSetting('max_block_size')")
	_, _, def := get(t, srv.URL+"/?query="+q)
	for i := 0; i < 8; i++ { // more requests than engine connections
		if _, _, got := get(t, srv.URL+"/?max_block_size=1234&query="+q); got != "1234\n" {
			t.Fatalf("setting not applied: %q", got)
		}
	}
	for i := 0; i < 8; i++ {
		if _, _, got := get(t, srv.URL+"/?query="+q); got != def {
			t.Fatalf("setting leaked: %q, default %q", got, def)
		}
	}
}

// clickhouse-go over a real socket, with block compression: the handshake
// (trap 1) and binary inserts with blank lines (trap 2) through the
// network path Grafana's data source would use.
func TestClickHouseGoOverHTTP(t *testing.T) {
	srv := server(t)
	for _, method := range []clickhouse.CompressionMethod{clickhouse.CompressionNone, clickhouse.CompressionLZ4, clickhouse.CompressionZSTD} {
		conn, err := clickhouse.Open(&clickhouse.Options{
			Protocol:    clickhouse.HTTP,
			Addr:        []string{strings.TrimPrefix(srv.URL, "http://")},
			Compression: &clickhouse.Compression{Method: method},
		})
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		v, err := conn.ServerVersion()
		if err != nil || v.Revision != 0 || v.Version.Major < 26 {
			t.Fatalf("%v: server version %+v, %v", method, v, err)
		}
		db := "chgo_" + method.String()
		if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db); err != nil {
			t.Fatal(err)
		}
		if err := conn.Exec(ctx, "CREATE OR REPLACE TABLE "+db+".t (s String, b Array(UInt8)) ENGINE = MergeTree ORDER BY tuple()"); err != nil {
			t.Fatal(err)
		}
		batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+db+".t")
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 500; i++ {
			if err := batch.Append("a\n\nb", []uint8{10, 10, 0}); err != nil {
				t.Fatal(err)
			}
		}
		if err := batch.Send(); err != nil {
			t.Fatalf("%v: insert: %v", method, err)
		}
		var n uint64
		if err := conn.QueryRow(ctx, "SELECT count() FROM "+db+".t WHERE s = ? AND b = [10, 10, 0]", "a\n\nb").Scan(&n); err != nil || n != 500 {
			t.Fatalf("%v: count %d, %v", method, n, err)
		}
		var ex *clickhouse.Exception
		err = conn.Exec(ctx, "SELECT * FROM "+db+".missing")
		if !errors.As(err, &ex) || ex.Code != 60 {
			t.Fatalf("%v: want UNKNOWN_TABLE exception, got %v", method, err)
		}
		conn.Close()
	}
}
