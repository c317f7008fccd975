// One function: its metrics over time, recent cold starts and timeouts,
// and the instances that served it.
import { useMemo } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { useFunctions, useInstances, useTimeseries, useTraceSearch, type TraceFilters } from '../api/hooks';
import type { FunctionSummary, Metric, Quantiles } from '../api/types';
import { TimeSeriesChart, type Series } from '../components/charts/TimeSeriesChart';
import { InstanceTimeline } from '../components/InstanceTimeline';
import { EmptyState, ErrorState, GettingStarted, Loading } from '../components/States';
import { TraceTable } from '../components/TraceTable';
import { formatBytes, formatCost, formatCount, formatDuration, formatPercent } from '../lib/format';
import { alignSeries } from '../lib/series';
import type { TimeRange } from '../lib/timeRange';
import { usePageTitle } from '../lib/usePageTitle';
import { useRangeSearch, useTimeRange } from '../lib/useTimeRange';

export default function FunctionPage() {
  const { name = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const version = params.get('version') ?? '';
  usePageTitle(name);
  const [range] = useTimeRange();
  const fq = useFunctions(range);
  const versions = useMemo(() => (fq.data?.functions ?? []).filter((f) => f.name === name), [fq.data, name]);
  const shown = version ? versions.filter((f) => f.version === version) : versions;
  const search = useRangeSearch();

  const setVersion = (v: string) =>
    setParams((prev) => {
      const next = new URLSearchParams(prev);
      if (v) next.set('version', v);
      else next.delete('version');
      return next;
    });

  return (
    <div className="page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to={`/${search}`}>Functions</Link> <span aria-hidden="true">/</span>
      </nav>
      <header className="page-header">
        <h1>{name}</h1>
        {versions.length > 1 && (
          <label className="inline-field">
            Version{' '}
            <select value={version} onChange={(e) => setVersion(e.target.value)}>
              <option value="">All versions</option>
              {versions.map((f) => (
                <option key={f.version} value={f.version}>
                  {f.version}
                </option>
              ))}
            </select>
          </label>
        )}
      </header>
      {fq.isPending ? (
        <Loading />
      ) : fq.isError ? (
        <ErrorState error={fq.error} onRetry={() => fq.refetch()} />
      ) : shown.length === 0 ? (
        <EmptyState title={`No invocations of ${name}${version ? ` version ${version}` : ''} in this time range`}>
          <p>Invoke it, or widen the time range.</p>
          <GettingStarted />
        </EmptyState>
      ) : (
        <>
          <Stats rows={shown} />
          <Charts name={name} version={version} range={range} />
          <div className="two-columns">
            <RecentTraces
              title="Recent cold starts"
              empty="No cold start in this range."
              filters={{ service: name, coldStart: 'true', attrs: version ? [`resource.faas.version=${version}`] : undefined }}
              range={range}
            />
            <RecentTraces
              title="Recent timeouts"
              empty="No timeout in this range."
              filters={{ service: name, errorType: 'timeout', attrs: version ? [`resource.faas.version=${version}`] : undefined }}
              range={range}
            />
          </div>
          <Instances name={name} version={version} range={range} />
        </>
      )}
    </div>
  );
}

/**
 * The version whose invocations used the most memory: its peak is shown
 * against its own limit, as versions can have different limits.
 */
function peakMemory(rows: FunctionSummary[]): FunctionSummary {
  return rows.reduce((a, r) => (r.maxMemoryUsedBytes > a.maxMemoryUsedBytes ? r : a));
}

export function Stats({ rows }: { rows: FunctionSummary[] }) {
  const sum = (f: (r: FunctionSummary) => number) => rows.reduce((n, r) => n + f(r), 0);
  const invocations = sum((r) => r.invocations);
  const coldStarts = sum((r) => r.coldStarts);
  // Quantiles of several versions cannot be merged here: show the version
  // with the highest p95, and that same version's p50 beside it.
  const slowest = (f: (r: FunctionSummary) => Quantiles | null | undefined): Quantiles | undefined =>
    rows
      .map(f)
      .filter((q): q is Quantiles => q != null)
      .reduce<Quantiles | undefined>((a, q) => (a === undefined || q.p95Nano > a.p95Nano ? q : a), undefined);
  const ms = (nano: number | undefined) => (nano === undefined ? null : nano / 1e6);
  const init = slowest((r) => r.initDuration);
  const duration = slowest((r) => r.duration);
  const note = rows.length > 1 ? ' (slowest version)' : '';
  const peak = peakMemory(rows);
  const cards: [string, string, string?][] = [
    ['Invocations', formatCount(invocations), rows.some((r) => r.throttles) ? `${sum((r) => r.throttles)} throttled` : undefined],
    ['Cold starts', formatPercent(invocations ? coldStarts / invocations : 0), `${formatCount(coldStarts)} cold start${coldStarts === 1 ? '' : 's'}`],
    ['Init p95', formatDuration(ms(init?.p95Nano)), `p50 ${formatDuration(ms(init?.p50Nano))}${note}`],
    ['Duration p95', formatDuration(ms(duration?.p95Nano)), `p50 ${formatDuration(ms(duration?.p50Nano))}${note}`],
    ['Timeouts', formatCount(sum((r) => r.timeouts))],
    ['Errors', formatCount(sum((r) => r.errors))],
    ['Estimated cost', formatCost(sum((r) => r.cost.totalUsd)), `${sum((r) => r.billedGbSeconds).toPrecision(3)} GB-s`],
    // 0: no invocation reported its peak (spans from other runtimes).
    [
      'Peak memory',
      formatBytes(peak.maxMemoryUsedBytes || null),
      peak.memoryLimitBytes && (peak.maxMemoryUsedBytes || rows.length === 1)
        ? `of ${formatBytes(peak.memoryLimitBytes)}${rows.length > 1 ? ` (version ${peak.version})` : ''}`
        : undefined,
    ],
  ];
  return (
    <dl className="stat-cards">
      {cards.map(([label, value, sub]) => (
        <div key={label} className="stat-card">
          <dt>{label}</dt>
          <dd>
            {value}
            {sub && <span className="muted small">{sub}</span>}
          </dd>
        </div>
      ))}
    </dl>
  );
}

const CHARTS: { title: string; metrics: { metric: Metric; label: string; color: string }[]; unit: 'count' | 'ns' }[] = [
  {
    title: 'Invocations and cold starts',
    unit: 'count',
    metrics: [
      { metric: 'invocations', label: 'Invocations', color: '#2f7fd8' },
      { metric: 'coldstarts', label: 'Cold starts', color: '#18a3b5' },
    ],
  },
  {
    title: 'Init duration p50 and p95',
    unit: 'ns',
    metrics: [
      { metric: 'init_p50', label: 'Init p50', color: '#c39be6' },
      { metric: 'init_p95', label: 'Init p95', color: '#8e44c9' },
    ],
  },
  {
    title: 'Duration p50 and p95',
    unit: 'ns',
    metrics: [
      { metric: 'duration_p50', label: 'Duration p50', color: '#f0aa6e' },
      { metric: 'duration_p95', label: 'Duration p95', color: '#d5671c' },
    ],
  },
  {
    title: 'Timeouts and errors',
    unit: 'count',
    metrics: [
      { metric: 'timeouts', label: 'Timeouts', color: '#d4a017' },
      { metric: 'errors', label: 'Errors', color: '#d64545' },
    ],
  },
];

function Charts({ name, version, range }: { name: string; version: string; range: TimeRange }) {
  return (
    <section className="chart-grid" aria-label="Metrics over time">
      {CHARTS.map((c) => (
        <MetricChart key={c.title} name={name} version={version} range={range} {...c} />
      ))}
    </section>
  );
}

const nsToMs = (v: number) => v / 1e6;
const formatMs = (v: number) => formatDuration(v);

function MetricChart({
  name,
  version,
  range,
  title,
  metrics,
  unit,
}: (typeof CHARTS)[number] & { name: string; version: string; range: TimeRange }) {
  // The hooks are called a fixed number of times: every chart has one or two metrics.
  const a = useTimeseries(name, metrics[0].metric, range, version || undefined);
  const b = useTimeseries(name, (metrics[1] ?? metrics[0]).metric, range, version || undefined);
  const queries = metrics.length > 1 ? [a, b] : [a];
  const two = metrics.length > 1;
  const aligned = useMemo(
    () => alignSeries(two ? [a.data, b.data] : [a.data], unit === 'ns' ? nsToMs : undefined),
    [a.data, b.data, two, unit],
  );
  const series = useMemo<Series[]>(
    () => metrics.map((m, i) => ({ label: m.label, color: m.color, values: aligned.values[i], bars: unit === 'count' })),
    [aligned, metrics, unit],
  );
  const failed = queries.find((q) => q.isError);
  if (failed) return <ErrorState error={failed.error} onRetry={() => failed.refetch()} />;
  if (queries.some((q) => q.isPending)) return <Loading label={`Loading ${title.toLowerCase()}…`} />;
  return (
    <TimeSeriesChart
      title={title}
      timestamps={aligned.timestamps}
      series={series}
      formatValue={unit === 'ns' ? formatMs : formatCount}
    />
  );
}

function RecentTraces({ title, empty, filters, range }: { title: string; empty: string; filters: TraceFilters; range: TimeRange }) {
  const q = useTraceSearch(filters, range, 10);
  const search = useRangeSearch();
  const traces = q.data?.pages[0]?.traces ?? [];
  const more = new URLSearchParams(search);
  for (const [k, v] of Object.entries(filters)) {
    if (Array.isArray(v)) v.forEach((x) => more.append('attr', x));
    else if (v) more.set(k, v);
  }
  return (
    <section className="panel">
      <header className="panel-header">
        <h2>{title}</h2>
        <Link to={`/traces?${more.toString()}`}>Search all</Link>
      </header>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : traces.length === 0 ? (
        <p className="muted">{empty}</p>
      ) : (
        <TraceTable traces={traces} caption={title} />
      )}
    </section>
  );
}

function Instances({ name, version, range }: { name: string; version: string; range: TimeRange }) {
  const q = useInstances(name, range, version || undefined);
  return (
    <section className="panel">
      <header className="panel-header">
        <h2>Instances</h2>
        <span className="muted small">Each lane is one execution environment, from its first to its last invocation; ❄ marks the cold start that created it.</span>
      </header>
      {q.isPending ? (
        <Loading />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : q.data.instances.length === 0 ? (
        <p className="muted">No instance served this function in this range.</p>
      ) : (
        <InstanceTimeline instances={q.data.instances} window={q.data.window} />
      )}
    </section>
  );
}
