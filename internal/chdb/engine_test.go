package chdb

import (
	"context"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/coldtrace/coldtrace/internal/testmain"
)

var testEngine *Engine

func TestMain(m *testing.M) {
	if _, err := FindLibrary(); err != nil {
		println("chdb tests skipped:", err.Error())
		os.Exit(0)
	}
	dir, err := os.MkdirTemp("", "chdb-test-")
	if err != nil {
		panic(err)
	}
	testEngine, err = Open(Options{Path: dir, Connections: 4})
	if err != nil {
		panic(err)
	}
	testmain.Run(m, func() {
		testEngine.Close()
		os.RemoveAll(dir)
	})
}

func TestQuery(t *testing.T) {
	out, err := testEngine.Query(context.Background(), "SELECT 1 + 1", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "2" {
		t.Fatalf("got %q", out)
	}
}

func TestException(t *testing.T) {
	_, err := testEngine.Query(context.Background(), "SELECT * FROM no_such_table_x", "TabSeparated")
	ex, ok := err.(*Exception)
	if !ok {
		t.Fatalf("want *Exception, got %T %v", err, err)
	}
	if ex.Code != 60 || ex.Name != "UNKNOWN_TABLE" {
		t.Fatalf("got %+v", ex)
	}
}

// The engine replaces Go's handlers for fatal signals; a nil dereference
// must still be a recoverable panic.
func TestNilDereferencePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("expected a panic")
		}
	}()
	var p *int
	_ = *p
}

// While one connection runs a long statement, another must answer.
func TestConnectionsRunConcurrently(t *testing.T) {
	var slowDone atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if _, err := testEngine.Query(context.Background(), "SELECT sleep(1)", "Null"); err != nil {
			t.Error(err)
		}
		slowDone.Store(true)
	}()
	// Wait until the slow statement is running on its connection.
	for {
		out, err := testEngine.Query(context.Background(), "SELECT count() FROM system.processes WHERE query LIKE 'SELECT sleep(1)%'", "TabSeparated")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(out)) == "1" {
			break
		}
		if slowDone.Load() {
			t.Fatal("slow statement finished before it was seen running")
		}
	}
	if slowDone.Load() {
		t.Fatal("a second connection only answered after the first finished")
	}
	wg.Wait()
}

// DROP ... SYNC never returns from libchdb 26.5; the engine must not hang.
func TestDropSyncDoesNotHang(t *testing.T) {
	ctx := context.Background()
	for _, q := range []string{
		"CREATE DATABASE IF NOT EXISTS dropsync",
		"CREATE TABLE dropsync.t (a UInt8) ENGINE = MergeTree ORDER BY a",
		"DROP TABLE dropsync.t SYNC",
		"DROP DATABASE dropsync SYNC",
	} {
		if _, err := testEngine.Query(ctx, q, "Null"); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	out, err := testEngine.Query(ctx, "EXISTS DATABASE dropsync", "TabSeparated")
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(out)) != "0" {
		t.Fatalf("database still exists: %q", out)
	}
}
