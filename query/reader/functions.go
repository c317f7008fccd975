package reader

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/query/api"
)

// MinuteWindow rounds w out to whole minutes, the rollup's resolution.
func MinuteWindow(w Window) Window { return StepWindow(w, time.Minute) }

// StepWindow rounds w out to multiples of step from the unix epoch, as
// ClickHouse's toStartOfInterval counts its buckets. (time.Truncate
// counts from year 1, which agrees with the epoch only for steps that
// divide 62,135,596,800 s: 7 minutes or 5 hours do not.)
func StepWindow(w Window, step time.Duration) Window {
	start := truncateFromEpoch(w.Start, step)
	end := truncateFromEpoch(w.End, step)
	if end.Before(w.End) {
		end = end.Add(step)
	}
	return Window{Start: start.UTC(), End: end.UTC()}
}

// truncateFromEpoch rounds t down to a multiple of step since the unix
// epoch (step > 0; t after 1970, as every API instant is).
func truncateFromEpoch(t time.Time, step time.Duration) time.Time {
	return t.Add(-time.Duration(t.UnixNano() % int64(step)))
}

// rollupWindow is the rollup filter for the bound window @start, @end
// (whole minutes). Minute is a DateTime: it is compared with DateTimes,
// never with DateTime64 (see Trace).
const rollupWindow = "Minute >= toDateTime(intDiv(toInt64(@start), 1000000000), 'UTC') AND Minute < toDateTime(intDiv(toInt64(@end), 1000000000), 'UTC')"

// rollupMeasures are the columns Functions reads from either rollup.
const rollupMeasures = `FunctionName, FunctionVersion, Invocations, ColdStarts, Errors, Timeouts,
    OutOfMemory, Crashes, HandlerErrors, InitErrors, Throttles, DurationSum, DurationQuantiles,
    InitDurationQuantiles, BilledDurationMs, BilledGBSeconds, MaxMemoryUsedBytes, MemoryLimitBytes`

// functionRollup is the tenant's rollup rows covering w (whole minutes):
// the whole hours of w from the hourly rollup (a 24 h summary merges 24
// t-digests per function instead of 1,440) and the minutes at either end
// from the per-minute one.
func (r *Reader) functionRollup(w Window) (string, []driver.NamedValue) {
	args := windowArgs(w)
	hourStart, hourEnd := w.Start.Truncate(time.Hour), w.End.Truncate(time.Hour)
	if hourStart.Before(w.Start) {
		hourStart = hourStart.Add(time.Hour)
	}
	if !hourStart.Before(hourEnd) {
		return `(SELECT ` + rollupMeasures + ` FROM ` + r.functions + ` WHERE TenantId = @tenant AND ` + rollupWindow + `)`, args
	}
	args = append(args, clickhouse.Named("hourStart", hourStart.Unix()), clickhouse.Named("hourEnd", hourEnd.Unix()))
	return `(SELECT ` + rollupMeasures + ` FROM ` + r.hourlyFunctions + `
    WHERE TenantId = @tenant AND Hour >= toDateTime(@hourStart, 'UTC') AND Hour < toDateTime(@hourEnd, 'UTC')
  UNION ALL
  SELECT ` + rollupMeasures + ` FROM ` + r.functions + `
    WHERE TenantId = @tenant AND ` + rollupWindow + `
      AND (Minute < toDateTime(@hourStart, 'UTC') OR Minute >= toDateTime(@hourEnd, 'UTC')))`, args
}

// Functions summarises every function version's invocations in w (whole
// minutes) from the rollups.
func (r *Reader) Functions(ctx context.Context, w Window) ([]api.FunctionSummary, error) {
	rollup, args := r.functionRollup(w)
	sql := `SELECT FunctionName, FunctionVersion,
    sum(Invocations), sum(ColdStarts), sum(Errors), sum(Timeouts), sum(OutOfMemory), sum(Crashes),
    sum(HandlerErrors), sum(InitErrors), sum(Throttles), sum(DurationSum),
    arrayMap(x -> toFloat64(x), quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationQuantiles)),
    arrayMap(x -> toFloat64(x), quantilesTDigestMerge(0.5, 0.95, 0.99)(InitDurationQuantiles)),
    sum(BilledDurationMs), sum(BilledGBSeconds), max(MaxMemoryUsedBytes), max(MemoryLimitBytes)
FROM ` + rollup + `
GROUP BY FunctionName, FunctionVersion
ORDER BY FunctionName, FunctionVersion`
	out := []api.FunctionSummary{}
	err := r.each(ctx, "functions", sql, args, func(rows driver.Rows) error {
		var (
			f                     api.FunctionSummary
			durationSum, billedMs uint64
			durationQ, initQ      []float64
			e                     = &f.ErrorsByType
		)
		if err := rows.Scan(&f.Name, &f.Version,
			&f.Invocations, &f.ColdStarts, &f.Errors, &f.Timeouts, &e.OutOfMemory, &e.Crash,
			&e.HandlerError, &e.InitError, &f.Throttles, &durationSum,
			&durationQ, &initQ,
			&billedMs, &f.BilledGBSeconds, &f.MaxMemoryUsedBytes, &f.MemoryLimitBytes); err != nil {
			return err
		}
		e.Timeout = f.Timeouts
		if typed := e.Timeout + e.OutOfMemory + e.Crash + e.HandlerError + e.InitError; f.Errors > typed {
			e.Other = f.Errors - typed
		}
		if f.Invocations > 0 {
			f.ColdStartRate = float64(f.ColdStarts) / float64(f.Invocations)
			f.AvgDurationNano = float64(durationSum) / float64(f.Invocations)
			f.Duration = quantiles(durationQ, 1)
		}
		if f.ColdStarts > 0 {
			f.InitDuration = quantiles(initQ, float64(time.Millisecond))
		}
		f.BilledDurationNano = billedMs * uint64(time.Millisecond)
		f.Cost = r.cost(f.BilledGBSeconds, f.Invocations)
		out = append(out, f)
		return nil
	})
	return out, err
}

// quantiles reads p50, p95, p99 scaled to nanoseconds.
func quantiles(q []float64, scale float64) *api.Quantiles {
	if len(q) != 3 || math.IsNaN(q[0]) {
		return nil
	}
	return &api.Quantiles{P50Nano: q[0] * scale, P95Nano: q[1] * scale, P99Nano: q[2] * scale}
}

// rollupStep is one step of a function's rollup: the sums and merged
// quantiles every timeseries metric is computed from.
type rollupStep struct {
	invocations, coldStarts, timeouts, errors uint64
	gbSeconds                                 float64
	// duration and init are p50, p95 and p99 in nanoseconds; NaN without
	// invocations (cold starts for init).
	duration, init [3]float64
}

// Indexes of the quantiles in rollupStep.
const (
	p50 = iota
	p95
	p99
)

// metric computes one timeseries metric of a step; ok is false where it
// is undefined (a rate or quantile without invocations).
type metric struct {
	unit  string
	value func(r *Reader, s rollupStep) (v float64, ok bool)
}

func countOf(f func(s rollupStep) uint64) func(*Reader, rollupStep) (float64, bool) {
	return func(_ *Reader, s rollupStep) (float64, bool) { return float64(f(s)), true }
}

func durationQuantile(i int) metric {
	return metric{api.UnitNanoseconds, func(_ *Reader, s rollupStep) (float64, bool) {
		return s.duration[i], s.invocations > 0 && !math.IsNaN(s.duration[i])
	}}
}

func initQuantile(i int) metric {
	return metric{api.UnitNanoseconds, func(_ *Reader, s rollupStep) (float64, bool) {
		return s.init[i], s.coldStarts > 0 && !math.IsNaN(s.init[i])
	}}
}

// metrics are the timeseries metrics by name.
var metrics = map[string]metric{
	api.MetricInvocations: {api.UnitCount, countOf(func(s rollupStep) uint64 { return s.invocations })},
	api.MetricColdStarts:  {api.UnitCount, countOf(func(s rollupStep) uint64 { return s.coldStarts })},
	api.MetricTimeouts:    {api.UnitCount, countOf(func(s rollupStep) uint64 { return s.timeouts })},
	api.MetricErrors:      {api.UnitCount, countOf(func(s rollupStep) uint64 { return s.errors })},
	api.MetricCost: {api.UnitUSD, func(r *Reader, s rollupStep) (float64, bool) {
		return r.cost(s.gbSeconds, s.invocations).TotalUSD, true
	}},
	api.MetricColdStartRate: {api.UnitRatio, func(_ *Reader, s rollupStep) (float64, bool) {
		if s.invocations == 0 {
			return 0, false
		}
		return float64(s.coldStarts) / float64(s.invocations), true
	}},
	api.MetricDurationP50: durationQuantile(p50),
	api.MetricDurationP95: durationQuantile(p95),
	api.MetricDurationP99: durationQuantile(p99),
	api.MetricInitP50:     initQuantile(p50),
	api.MetricInitP95:     initQuantile(p95),
	api.MetricInitP99:     initQuantile(p99),
}

// MetricUnits are the timeseries metrics and their units.
var MetricUnits = func() map[string]string {
	out := make(map[string]string, len(metrics))
	for name, m := range metrics {
		out[name] = m.unit
	}
	return out
}()

// Timeseries returns metric of function (and version, if set) per step
// over w, which must be whole steps: one point per step, in order. Steps
// without a value are 0 for counts and cost, null otherwise.
func (r *Reader) Timeseries(ctx context.Context, function, version, metricName string, step time.Duration, w Window) ([]api.Point, error) {
	m, ok := metrics[metricName]
	if !ok {
		return nil, fmt.Errorf("timeseries: unknown metric %q", metricName)
	}
	where := "TenantId = @tenant AND FunctionName = @function AND " + rollupWindow
	args := append(windowArgs(w), clickhouse.Named("function", function), clickhouse.Named("step", int64(step/time.Second)))
	if version != "" {
		where += " AND FunctionVersion = @version"
		args = append(args, clickhouse.Named("version", version))
	}
	// Every metric comes from the same sums and quantiles: one query shape
	// for all (merging three quantiles costs about what one does).
	sql := `SELECT toUnixTimestamp64Nano(toDateTime64(toStartOfInterval(Minute, toIntervalSecond(@step)), 9, 'UTC')) AS t,
    sum(Invocations), sum(ColdStarts), sum(Timeouts), sum(Errors), sum(BilledGBSeconds),
    arrayMap(x -> toFloat64(x), quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationQuantiles)),
    arrayMap(x -> toFloat64(x) * 1e6, quantilesTDigestMerge(0.5, 0.95, 0.99)(InitDurationQuantiles))
FROM ` + r.functions + `
WHERE ` + where + `
GROUP BY t
ORDER BY t`
	byTime := map[int64]float64{}
	err := r.each(ctx, "timeseries", sql, args, func(rows driver.Rows) error {
		var (
			t                int64
			s                rollupStep
			durationQ, initQ []float64
		)
		if err := rows.Scan(&t, &s.invocations, &s.coldStarts, &s.timeouts, &s.errors, &s.gbSeconds, &durationQ, &initQ); err != nil {
			return err
		}
		if len(durationQ) != len(s.duration) || len(initQ) != len(s.init) {
			return fmt.Errorf("got %d duration and %d init quantiles, want %d", len(durationQ), len(initQ), len(s.duration))
		}
		copy(s.duration[:], durationQ)
		copy(s.init[:], initQ)
		if v, ok := m.value(r, s); ok {
			byTime[t] = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	zeroFill := m.unit == api.UnitCount || m.unit == api.UnitUSD
	var points []api.Point
	for t := w.Start; t.Before(w.End); t = t.Add(step) {
		p := api.Point{TimeUnixNano: t.UnixNano(), Time: t.UTC()}
		if v, ok := byTime[p.TimeUnixNano]; ok {
			p.Value = &v
		} else if zeroFill {
			zero := 0.0
			p.Value = &zero
		}
		points = append(points, p)
	}
	return points, nil
}

// Instances lists the execution environments of function (and version,
// if set) that served invocations in w, newest first.
func (r *Reader) Instances(ctx context.Context, function, version string, limit int, w Window) ([]api.Instance, error) {
	where := "TenantId = @tenant AND FunctionName = @function AND IsInvocation AND FaasInstance != '' AND " + inWindow
	args := append(windowArgs(w), clickhouse.Named("function", function), clickhouse.Named("limit", limit))
	if version != "" {
		where += " AND FunctionVersion = @version"
		args = append(args, clickhouse.Named("version", version))
	}
	sql := `SELECT FaasInstance, any(FunctionVersion),
    min(toUnixTimestamp64Nano(Timestamp)) AS first, max(toUnixTimestamp64Nano(Timestamp) + toInt64(Duration)),
    countIf(ErrorType != 'throttled'), countIf(ErrorType NOT IN ('', 'throttled') OR (ErrorType = '' AND StatusCode = 'Error')),
    countIf(ColdStart) > 0,
    argMinIf(TraceId, Timestamp, ColdStart), argMinIf(SpanId, Timestamp, ColdStart),
    minIf(toUnixTimestamp64Nano(Timestamp), ColdStart), argMinIf(InitDurationMs, Timestamp, ColdStart),
    max(MaxMemoryUsedBytes), max(MemoryLimitBytes)
FROM ` + r.spans + `
WHERE ` + where + `
GROUP BY FaasInstance
ORDER BY first DESC, FaasInstance
LIMIT @limit`
	out := []api.Instance{}
	err := r.each(ctx, "instances", sql, args, func(rows driver.Rows) error {
		var (
			in      api.Instance
			hasCold bool
			cs      api.ColdStart
			initMs  float64
		)
		if err := rows.Scan(&in.Instance, &in.Version, &in.FirstSeenUnixNano, &in.LastSeenUnixNano,
			&in.Invocations, &in.Errors, &hasCold, &cs.TraceID, &cs.SpanID, &cs.TimeUnixNano, &initMs,
			&in.PeakMemoryBytes, &in.MemoryLimitBytes); err != nil {
			return err
		}
		in.FirstSeen, in.LastSeen = unixNano(in.FirstSeenUnixNano), unixNano(in.LastSeenUnixNano)
		if hasCold {
			cs.Time = unixNano(cs.TimeUnixNano)
			cs.InitDurationNano = uint64(initMs * float64(time.Millisecond))
			in.ColdStart = &cs
		}
		if in.MemoryLimitBytes > 0 && in.PeakMemoryBytes > 0 {
			ratio := float64(in.PeakMemoryBytes) / float64(in.MemoryLimitBytes)
			in.MemoryUsedRatio = &ratio
		}
		out = append(out, in)
		return nil
	})
	return out, err
}
