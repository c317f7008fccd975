package chclient

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chdb"
	"github.com/coldtrace/coldtrace/internal/testmain"
)

func openEmbedded(t *testing.T) *Client {
	t.Helper()
	if _, err := chdb.FindLibrary(); err != nil {
		t.Skip(err)
	}
	c, err := Open(context.Background(), Config{DSN: Embedded, DataDir: testDir, Database: "coldtrace_test"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

var testDir string

func TestMain(m *testing.M) {
	d, err := os.MkdirTemp("", "chclient-")
	if err != nil {
		panic(err)
	}
	testDir = d
	testmain.Run(m, func() { os.RemoveAll(d) })
}

func TestEmbeddedRoundTrip(t *testing.T) {
	c := openEmbedded(t)
	ctx := context.Background()
	if err := c.Exec(ctx, "CREATE DATABASE IF NOT EXISTS rt"); err != nil {
		t.Fatal(err)
	}
	if err := c.Exec(ctx, `CREATE OR REPLACE TABLE rt.t (ts DateTime64(9), s String, m Map(LowCardinality(String), String), b Array(UInt8)) ENGINE = MergeTree ORDER BY ts`); err != nil {
		t.Fatal(err)
	}
	batch, err := c.PrepareBatch(ctx, "INSERT INTO rt.t")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1700000000, 123456789).UTC()
	// Binary data with blank lines: the trap that truncates inline INSERT data.
	for i := 0; i < 1000; i++ {
		if err := batch.Append(now.Add(time.Duration(i)), "line\n\nbreak", map[string]string{"k": "v\n\n"}, []uint8{0, 10, 10, 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	var n uint64
	var first time.Time
	if err := c.QueryRow(ctx, "SELECT count(), min(ts) FROM rt.t WHERE s = ? AND m['k'] = ?", "line\n\nbreak", "v\n\n").Scan(&n, &first); err != nil {
		t.Fatal(err)
	}
	if n != 1000 || !first.Equal(now) {
		t.Fatalf("got %d rows, first %v", n, first)
	}
}
