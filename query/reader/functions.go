package reader

import (
	"context"
	"math"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/coldtrace/coldtrace/query/api"
)

// MinuteWindow rounds w out to whole minutes, the rollup's resolution.
func MinuteWindow(w Window) Window { return StepWindow(w, time.Minute) }

// StepWindow rounds w out to multiples of step (from the unix epoch).
func StepWindow(w Window, step time.Duration) Window {
	start := w.Start.Truncate(step)
	end := w.End.Truncate(step)
	if end.Before(w.End) {
		end = end.Add(step)
	}
	return Window{Start: start.UTC(), End: end.UTC()}
}

// rollupWindow is the rollup filter for the bound window @start, @end
// (whole minutes). Minute is a DateTime: it is compared with DateTimes,
// never with DateTime64 (see Trace).
const rollupWindow = "Minute >= toDateTime(intDiv(toInt64(@start), 1000000000), 'UTC') AND Minute < toDateTime(intDiv(toInt64(@end), 1000000000), 'UTC')"

// Functions summarises every function version's invocations in w (whole
// minutes) from the per-minute rollup.
func (r *Reader) Functions(ctx context.Context, w Window) ([]api.FunctionSummary, error) {
	sql := `SELECT FunctionName, FunctionVersion,
    sum(Invocations), sum(ColdStarts), sum(Errors), sum(Timeouts), sum(OutOfMemory), sum(Crashes),
    sum(HandlerErrors), sum(InitErrors), sum(Throttles), sum(DurationSum),
    arrayMap(x -> toFloat64(x), quantilesTDigestMerge(0.5, 0.95, 0.99)(DurationQuantiles)),
    arrayMap(x -> toFloat64(x), quantilesTDigestMerge(0.5, 0.95, 0.99)(InitDurationQuantiles)),
    sum(BilledDurationMs), sum(BilledGBSeconds), max(MaxMemoryUsedBytes), max(MemoryLimitBytes)
FROM ` + r.functions + `
WHERE TenantId = @tenant AND ` + rollupWindow + `
GROUP BY FunctionName, FunctionVersion
ORDER BY FunctionName, FunctionVersion`
	out := []api.FunctionSummary{}
	err := r.each(ctx, "functions", sql, windowArgs(w), func(rows driver.Rows) error {
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

// MetricUnits are the timeseries metrics and their units.
var MetricUnits = map[string]string{
	api.MetricInvocations:   api.UnitCount,
	api.MetricColdStarts:    api.UnitCount,
	api.MetricColdStartRate: api.UnitRatio,
	api.MetricDurationP95:   api.UnitNanoseconds,
	api.MetricInitP95:       api.UnitNanoseconds,
	api.MetricTimeouts:      api.UnitCount,
	api.MetricErrors:        api.UnitCount,
	api.MetricCost:          api.UnitUSD,
}

// Timeseries returns metric of function (and version, if set) per step
// over w, which must be whole steps: one point per step, in order.
func (r *Reader) Timeseries(ctx context.Context, function, version, metric string, step time.Duration, w Window) ([]api.Point, error) {
	where := "TenantId = @tenant AND FunctionName = @function AND " + rollupWindow
	args := append(windowArgs(w), clickhouse.Named("function", function), clickhouse.Named("step", int64(step/time.Second)))
	if version != "" {
		where += " AND FunctionVersion = @version"
		args = append(args, clickhouse.Named("version", version))
	}
	// Every metric comes from the same few sums: one query shape for all.
	sql := `SELECT toUnixTimestamp64Nano(toDateTime64(toStartOfInterval(Minute, toIntervalSecond(@step)), 9, 'UTC')) AS t,
    sum(Invocations), sum(ColdStarts), sum(Timeouts), sum(Errors), sum(BilledGBSeconds),
    toFloat64(quantilesTDigestMerge(0.95)(DurationQuantiles)[1]),
    toFloat64(quantilesTDigestMerge(0.95)(InitDurationQuantiles)[1])
FROM ` + r.functions + `
WHERE ` + where + `
GROUP BY t
ORDER BY t`
	byTime := map[int64]float64{}
	defined := map[int64]bool{}
	err := r.each(ctx, "timeseries", sql, args, func(rows driver.Rows) error {
		var (
			t                         int64
			inv, cold, timeouts, errs uint64
			gbs, durP95, initP95      float64
		)
		if err := rows.Scan(&t, &inv, &cold, &timeouts, &errs, &gbs, &durP95, &initP95); err != nil {
			return err
		}
		v, ok := 0.0, true
		switch metric {
		case api.MetricInvocations:
			v = float64(inv)
		case api.MetricColdStarts:
			v = float64(cold)
		case api.MetricTimeouts:
			v = float64(timeouts)
		case api.MetricErrors:
			v = float64(errs)
		case api.MetricCost:
			v = r.cost(gbs, inv).TotalUSD
		case api.MetricColdStartRate:
			ok = inv > 0
			if ok {
				v = float64(cold) / float64(inv)
			}
		case api.MetricDurationP95:
			ok = inv > 0 && !math.IsNaN(durP95)
			v = durP95
		case api.MetricInitP95:
			ok = cold > 0 && !math.IsNaN(initP95)
			v = initP95 * float64(time.Millisecond)
		}
		if ok {
			byTime[t], defined[t] = v, true
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	counts := MetricUnits[metric] == api.UnitCount || metric == api.MetricCost
	var points []api.Point
	for t := w.Start; t.Before(w.End); t = t.Add(step) {
		p := api.Point{TimeUnixNano: t.UnixNano(), Time: t.UTC()}
		if v, ok := byTime[p.TimeUnixNano]; ok && defined[p.TimeUnixNano] {
			p.Value = &v
		} else if counts {
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
		if in.MemoryLimitBytes > 0 {
			ratio := float64(in.PeakMemoryBytes) / float64(in.MemoryLimitBytes)
			in.MemoryUsedRatio = &ratio
		}
		out = append(out, in)
		return nil
	})
	return out, err
}
