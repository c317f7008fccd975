package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"sort"
	"strings"
	"time"

	"github.com/coldtrace/coldtrace/ingest/schema"
	"github.com/coldtrace/coldtrace/internal/chclient"
	"github.com/coldtrace/coldtrace/query/reader"
	"github.com/coldtrace/coldtrace/query/server"
)

// Result is one measured query.
type Result struct {
	Name    string        `json:"name"`
	Target  string        `json:"target"`
	N       int           `json:"n"`
	P50     time.Duration `json:"p50"`
	P95     time.Duration `json:"p95"`
	P99     time.Duration `json:"p99"`
	Max     time.Duration `json:"max"`
	Bytes   int64         `json:"avgBytes"`
	Example string        `json:"example"`
}

func measure(ctx context.Context, client *chclient.Client, so schema.Options, o options) ([]Result, error) {
	if err := waitForMerges(ctx, client); err != nil {
		return nil, err
	}
	var spans, traces uint64
	if err := client.QueryRow(ctx, "SELECT count() FROM "+so.Table(schema.TracesTable)).Scan(&spans); err != nil {
		return nil, err
	}
	if err := client.QueryRow(ctx, "SELECT uniqExact(TraceId) FROM "+so.Table(schema.TraceIDLookupTable)).Scan(&traces); err != nil {
		return nil, err
	}
	cfg := server.DefaultConfig()
	cfg.Embedded, cfg.Database = true, o.database
	srv, err := server.New(cfg, reader.New(client, so, reader.DefaultPrices()), nil)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	defer hs.Close()
	base := "http://" + ln.Addr().String()

	ids, err := sampleStrings(ctx, client, "SELECT TraceId FROM "+so.Table(schema.TraceIDLookupTable)+" ORDER BY cityHash64(TraceId) LIMIT ?", o.samples)
	if err != nil {
		return nil, err
	}
	customers, err := sampleStrings(ctx, client, "SELECT DISTINCT SpanAttributes['customer.id'] FROM "+so.Table(schema.TracesTable)+
		" WHERE SpanName LIKE 'GET /%' AND Timestamp > now() - INTERVAL 1 HOUR LIMIT ?", o.samples)
	if err != nil {
		return nil, err
	}
	fns := make([]string, o.functions)
	for i := range fns {
		fns[i] = fmt.Sprintf("fn-%02d", i)
	}
	pick := func(list []string, i int) string { return list[i%len(list)] }
	q := func(path string, kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		if len(v) == 0 {
			return base + path
		}
		return base + path + "?" + v.Encode()
	}
	cases := []struct {
		name, target string
		url          func(i int) string
	}{
		{"trace by id (/api/v1/traces/{id})", "p99 ≤ 20 ms", func(i int) string { return q("/api/v1/traces/" + pick(ids, i)) }},
		{"trace by id, Jaeger (/api/traces/{id})", "", func(i int) string { return q("/api/traces/" + pick(ids, i)) }},
		{"search service + minDuration, last 1 h", "p95 ≤ 50 ms", func(i int) string {
			return q("/api/v1/traces", "service", pick(fns, i), "minDuration", "100ms", "start", "now-1h")
		}},
		{"search service + minDuration, last 24 h", "p95 ≤ 50 ms", func(i int) string {
			return q("/api/v1/traces", "service", pick(fns, i), "minDuration", "100ms", "start", "now-24h")
		}},
		{"search service + minDuration + errorType=timeout, 24 h", "", func(i int) string {
			return q("/api/v1/traces", "service", pick(fns, i), "minDuration", "1s", "errorType", "timeout", "start", "now-24h")
		}},
		{"search by attribute (customer.id, rare), last 1 h", "p95 ≤ 300 ms", func(i int) string {
			return q("/api/v1/traces", "attr.customer.id", pick(customers, i), "start", "now-1h")
		}},
		{"search by attribute (customer.id, rare), last 24 h", "p95 ≤ 300 ms", func(i int) string {
			return q("/api/v1/traces", "attr.customer.id", pick(customers, i), "start", "now-24h")
		}},
		{"Jaeger search by tag (customer.id, rare; span or resource attribute), 24 h", "", func(i int) string {
			return q("/api/traces", "service", "api-gateway", "tags", `{"customer.id":"`+pick(customers, i)+`"}`, "lookback", "24h")
		}},
		{"search by attribute (http.route, common), last 24 h", "p95 ≤ 300 ms", func(i int) string {
			return q("/api/v1/traces", "attr.http.route", "/orders/{id}", "start", "now-24h")
		}},
		{"functions summary, 24 h", "≤ 50 ms", func(i int) string { return q("/api/v1/functions", "start", "now-24h") }},
		{"time series duration_p95, 24 h, 5 m steps", "", func(i int) string {
			return q("/api/v1/functions/"+pick(fns, i)+"/timeseries", "metric", "duration_p95", "step", "5m", "start", "now-24h")
		}},
		{"time series coldstart_rate, 24 h, 5 m steps", "", func(i int) string {
			return q("/api/v1/functions/"+pick(fns, i)+"/timeseries", "metric", "coldstart_rate", "step", "5m", "start", "now-24h")
		}},
		{"services, last 1 h", "", func(i int) string { return q("/api/v1/services") }},
		{"instances of a function, last 1 h", "", func(i int) string { return q("/api/v1/functions/" + pick(fns, i) + "/instances") }},
		{"dependencies, last 1 h", "", func(i int) string { return q("/api/v1/dependencies") }},
	}
	hc := &http.Client{Timeout: time.Minute}
	if o.profile != "" {
		f, err := os.Create(o.profile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	var results []Result
	for _, c := range cases {
		if !strings.Contains(c.name, o.only) {
			continue
		}
		n := o.samples
		if strings.HasPrefix(c.name, "dependencies") || strings.HasPrefix(c.name, "services") {
			n = min(n, 30)
		}
		// One warm-up request: the first query of a shape pays for
		// loading marks and parts' metadata.
		if _, err := fetch(hc, c.url(0)); err != nil {
			return nil, fmt.Errorf("%s: %w", c.name, err)
		}
		lat := make([]time.Duration, 0, n)
		var bytes int64
		for i := 0; i < n; i++ {
			began := time.Now()
			b, err := fetch(hc, c.url(i))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", c.name, err)
			}
			lat = append(lat, time.Since(began))
			bytes += b
		}
		sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
		r := Result{Name: c.name, Target: c.target, N: n, P50: pct(lat, 50), P95: pct(lat, 95), P99: pct(lat, 99), Max: lat[len(lat)-1],
			Bytes: bytes / int64(n), Example: strings.TrimPrefix(c.url(0), base)}
		results = append(results, r)
		fmt.Fprintf(os.Stderr, "%-58s p50 %8s  p95 %8s  p99 %8s\n", c.name, ms(r.P50), ms(r.P95), ms(r.P99))
	}
	fmt.Printf("%d spans, %d traces, %d functions; %d CPUs, %s\n\n", spans, traces, o.functions, runtime.NumCPU(), runtime.Version())
	fmt.Println("| query | target | n | p50 | p95 | p99 | max | avg response |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, r := range results {
		fmt.Printf("| %s | %s | %d | %s | %s | %s | %s | %s |\n", r.Name, r.Target, r.N, ms(r.P50), ms(r.P95), ms(r.P99), ms(r.Max), size(r.Bytes))
	}
	return results, nil
}

func fetch(hc *http.Client, u string) (int64, error) {
	res, err := hc.Get(u)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	n, err := io.Copy(io.Discard, res.Body)
	if err != nil {
		return n, err
	}
	if res.StatusCode != http.StatusOK {
		return n, fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return n, nil
}

func sampleStrings(ctx context.Context, client *chclient.Client, sql string, n int) ([]string, error) {
	rows, err := client.Query(ctx, sql, n)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no samples for %s", sql)
	}
	return out, rows.Err()
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	if i > 0 {
		i--
	}
	return sorted[min(i, len(sorted)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1f ms", float64(d)/float64(time.Millisecond)) }

func size(b int64) string {
	if b > 1<<20 {
		return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
	}
	if b > 1<<10 {
		return fmt.Sprintf("%.1f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%d B", b)
}

// waitForMerges returns once the engine runs no background merge: one
// right after a load takes a core and would be measured with the queries.
func waitForMerges(ctx context.Context, client *chclient.Client) error {
	for deadline := time.Now().Add(15 * time.Minute); time.Now().Before(deadline); time.Sleep(2 * time.Second) {
		var n uint64
		if err := client.QueryRow(ctx, "SELECT count() FROM system.merges").Scan(&n); err != nil {
			return fmt.Errorf("system.merges: %w", err)
		}
		if n == 0 {
			return nil
		}
	}
	return fmt.Errorf("merges still running after 15 minutes")
}
