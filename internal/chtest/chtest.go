// Package chtest gives tests a real ClickHouse: the embedded engine
// (shared by every test in a test binary, since libchdb boots once per
// process), or the server named by COLDTRACE_TEST_CLICKHOUSE_DSN. Each
// caller gets a fresh database so tests never see each other's rows.
package chtest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/internal/chdb"
)

// DSNEnv names a ClickHouse server to run the tests against instead of
// the embedded engine.
const DSNEnv = "COLDTRACE_TEST_CLICKHOUSE_DSN"

var (
	dirOnce sync.Once
	dataDir string
	dbSeq   atomic.Int64

	engineOnce sync.Once
	engineErr  error
)

// DataDir is the test binary's embedded-engine data directory.
func DataDir(t testing.TB) string {
	dirOnce.Do(func() {
		d, err := os.MkdirTemp("", "coldtrace-test-")
		if err != nil {
			panic(err)
		}
		dataDir = d
	})
	return dataDir
}

// RemoveDataDir deletes the embedded engine's data directory. A test
// binary's TestMain runs it after its tests: each run writes ~90 MB there,
// and /tmp filled up with them. The engine is not shut down first; its
// open files go with the process.
func RemoveDataDir() {
	if dataDir != "" {
		os.RemoveAll(dataDir)
	}
}

// Config returns a client configuration for a new, unique database.
func Config(t testing.TB) chclient.Config {
	t.Helper()
	db := fmt.Sprintf("t%d_%d", time.Now().UnixNano()%1e9, dbSeq.Add(1))
	if dsn := os.Getenv(DSNEnv); dsn != "" {
		return chclient.Config{DSN: dsn, Database: db}
	}
	if _, err := chdb.FindLibrary(); err != nil {
		t.Fatalf("these tests need the embedded ClickHouse engine: %v", err)
	}
	dir := DataDir(t)
	// libchdb boots once per process: hold one reference for the life of
	// the test binary so closing a test's client never shuts the engine
	// down under the next test.
	engineOnce.Do(func() {
		_, engineErr = chdb.Open(chdb.Options{Path: filepath.Join(dir, "clickhouse")})
	})
	if engineErr != nil {
		t.Fatal(engineErr)
	}
	return chclient.Config{DSN: chclient.Embedded, DataDir: dir, Database: db}
}

// Client opens a client on a new database, dropped when the test ends.
func Client(t testing.TB) *chclient.Client {
	t.Helper()
	cfg := Config(t)
	c, err := chclient.Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = c.Exec(ctx, "DROP DATABASE IF EXISTS `"+cfg.Database+"` SYNC")
		c.Close()
	})
	return c
}
