package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
)

// probeInsert times one large request through the pipeline (conversion,
// clickhouse-go, the engine) against the engine alone copying the same
// rows (INSERT SELECT), to see what the client path adds.
func (e *benchEnv) probeInsert(ctx context.Context, spans int) error {
	sys, err := e.coldtrace(ctx, "embedded", false)
	if err != nil {
		return err
	}
	defer sys.client.Close()
	if os.Getenv("PROBE_NO_VIEWS") != "" {
		for _, v := range []string{schema.TraceIDLookupView, schema.FunctionStatsView} {
			if err := sys.client.Exec(ctx, "DROP VIEW `"+sys.client.Database+"`.`"+v+"`"); err != nil {
				return err
			}
		}
	}
	if q := os.Getenv("PROBE_ALTER"); q != "" {
		if err := sys.client.Exec(ctx, "ALTER TABLE "+sys.table+" "+q); err != nil {
			return err
		}
	}
	reqs := generate(faasShape{functions: e.opts.functions}, 99, 5*spans, spans)
	// warm up
	if err := sys.consumer.ConsumeTraces(ctx, generate(faasShape{functions: 2}, 5, 100, 100)[0].td); err != nil {
		return err
	}
	if e.opts.cpuprofile != "" {
		f, err := os.Create(e.opts.cpuprofile)
		if err != nil {
			return err
		}
		pprof.StartCPUProfile(f)
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	for i, r := range reqs {
		start := time.Now()
		if err := sys.consumer.ConsumeTraces(ctx, r.td); err != nil {
			return err
		}
		fmt.Printf("pipeline: request %d of %d spans stored in %v (%.1f µs/span)\n", i, r.spans, time.Since(start), float64(time.Since(start).Microseconds())/float64(r.spans))
	}
	db := sys.client.Database
	if err := sys.client.Exec(ctx, "CREATE TABLE `"+db+"`.copy AS "+sys.table); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		if err := sys.client.Exec(ctx, "INSERT INTO `"+db+"`.copy SELECT * FROM "+sys.table); err != nil {
			return err
		}
		var n uint64
		sys.client.QueryRow(ctx, "SELECT count() FROM "+sys.table).Scan(&n)
		fmt.Printf("engine alone (INSERT SELECT, no views): %d rows in %v (%.1f µs/row)\n", n, time.Since(start), float64(time.Since(start).Microseconds())/float64(n))
	}
	// The engine parsing Native it wrote itself, through the same HTTP
	// interface clickhouse-go uses.
	cols := "`" + strings.Join(schema.InsertColumns, "`, `") + "`"
	get := "http://" + e.chHTTP + "/?query=" + url.QueryEscape("SELECT "+cols+" FROM "+sys.table+" FORMAT Native")
	resp, err := http.Get(get)
	if err != nil {
		return err
	}
	native, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := sys.client.Exec(ctx, "CREATE TABLE `"+db+"`.copy2 AS "+sys.table); err != nil {
		return err
	}
	for i := 0; i < 3; i++ {
		start := time.Now()
		post := "http://" + e.chHTTP + "/?query=" + url.QueryEscape("INSERT INTO `"+db+"`.copy2 ("+cols+") FORMAT Native")
		resp, err := http.Post(post, "application/octet-stream", bytes.NewReader(native))
		if err != nil {
			return err
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return fmt.Errorf("native insert: %s", body)
		}
		var n uint64
		sys.client.QueryRow(ctx, "SELECT count() FROM "+sys.table).Scan(&n)
		fmt.Printf("engine parsing its own Native (%d MB) over HTTP, no views: %v (%.1f µs/row)\n", len(native)>>20, time.Since(start), float64(time.Since(start).Microseconds())/float64(n))
	}
	return nil
}
