// The landing page: every function with its invocations, cold starts,
// latency, failures and cost over the chosen range.
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { useFunctions, useStatus, useTimeseries } from '../api/hooks';
import type { FunctionSummary } from '../api/types';
import { Sparkline } from '../components/charts/Sparkline';
import { EmptyState, ErrorState, GettingStarted, Loading } from '../components/States';
import { formatCost, formatCount, formatDuration, formatPercent } from '../lib/format';
import { alignSeries } from '../lib/series';
import type { TimeRange } from '../lib/timeRange';
import { usePageTitle } from '../lib/usePageTitle';
import { useRangeSearch, useTimeRange } from '../lib/useTimeRange';

type SortKey = 'name' | 'invocations' | 'coldStartRate' | 'initP95' | 'durationP95' | 'timeouts' | 'errors' | 'cost';

const COLUMNS: { key: SortKey; label: string; value: (f: FunctionSummary) => number | string; numeric: boolean }[] = [
  { key: 'name', label: 'Function', value: (f) => f.name, numeric: false },
  { key: 'invocations', label: 'Invocations', value: (f) => f.invocations, numeric: true },
  { key: 'coldStartRate', label: 'Cold starts', value: (f) => f.coldStartRate, numeric: true },
  { key: 'initP95', label: 'Init p95', value: (f) => f.initDuration?.p95Nano ?? -1, numeric: true },
  { key: 'durationP95', label: 'Duration p95', value: (f) => f.duration?.p95Nano ?? -1, numeric: true },
  { key: 'timeouts', label: 'Timeouts', value: (f) => f.timeouts, numeric: true },
  { key: 'errors', label: 'Errors', value: (f) => f.errors, numeric: true },
  { key: 'cost', label: 'Cost', value: (f) => f.cost.totalUsd, numeric: true },
];

export function FunctionsPage() {
  usePageTitle('Functions');
  const [range] = useTimeRange();
  const q = useFunctions(range);

  return (
    <div className="page">
      <header className="page-header">
        <h1>Functions</h1>
        <p className="muted">Invocations, cold starts, latency, failures and estimated cost per function version.</p>
      </header>
      {q.isPending ? (
        <Loading label="Loading functions…" />
      ) : q.isError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : q.data.functions.length === 0 ? (
        <NoFunctions />
      ) : (
        <FunctionsTable functions={q.data.functions} range={range} />
      )}
    </div>
  );
}

function NoFunctions() {
  const status = useStatus();
  const hasSpans = (status.data?.spanCount ?? 0) > 0;
  return (
    <EmptyState title="No function invocations in this time range">
      {hasSpans ? (
        <p>
          Spans are stored, but none of them is a function invocation in this range. Try a wider time range, or{' '}
          <Link to="/traces">search all traces</Link>.
        </p>
      ) : null}
      <GettingStarted />
    </EmptyState>
  );
}

function FunctionsTable({ functions, range }: { functions: FunctionSummary[]; range: TimeRange }) {
  const [sort, setSort] = useState<{ key: SortKey; desc: boolean }>({ key: 'invocations', desc: true });
  const search = useRangeSearch();
  const versionsPerName = useMemo(() => {
    const m = new Map<string, number>();
    functions.forEach((f) => m.set(f.name, (m.get(f.name) ?? 0) + 1));
    return m;
  }, [functions]);
  const rows = useMemo(() => {
    const col = COLUMNS.find((c) => c.key === sort.key)!;
    return [...functions].sort((a, b) => {
      const va = col.value(a);
      const vb = col.value(b);
      const cmp = typeof va === 'number' && typeof vb === 'number' ? va - vb : String(va).localeCompare(String(vb));
      return (sort.desc ? -cmp : cmp) || a.name.localeCompare(b.name) || a.version.localeCompare(b.version);
    });
  }, [functions, sort]);

  const link = (f: FunctionSummary) => {
    const params = new URLSearchParams(search);
    if ((versionsPerName.get(f.name) ?? 0) > 1 && f.version) params.set('version', f.version);
    const qs = params.toString();
    return `/functions/${encodeURIComponent(f.name)}${qs ? `?${qs}` : ''}`;
  };

  return (
    <div className="table-scroll">
      <table className="data-table functions-table">
        <caption className="visually-hidden">Functions, sortable by each column</caption>
        <thead>
          <tr>
            {COLUMNS.map((c) => (
              <th
                key={c.key}
                scope="col"
                className={c.numeric ? 'num' : undefined}
                aria-sort={sort.key === c.key ? (sort.desc ? 'descending' : 'ascending') : undefined}
              >
                <button
                  type="button"
                  className="sort-button"
                  onClick={() => setSort((s) => ({ key: c.key, desc: s.key === c.key ? !s.desc : c.numeric }))}
                >
                  {c.label}
                  {sort.key === c.key && <span aria-hidden="true">{sort.desc ? ' ▾' : ' ▴'}</span>}
                </button>
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((f) => (
            <tr key={`${f.name}\u0000${f.version}`}>
              <th scope="row">
                <Link to={link(f)} className="function-link">
                  {f.name}
                </Link>
                {f.version && <span className="muted small"> v{f.version}</span>}
              </th>
              <td className="num">
                <div className="cell-with-spark">
                  <Trend name={f.name} version={f.version} range={range} metric="invocations" color="#2f7fd8" />
                  <span>{formatCount(f.invocations)}</span>
                </div>
              </td>
              <td className="num">
                <div className="cell-with-spark">
                  <Trend name={f.name} version={f.version} range={range} metric="coldstarts" color="#18a3b5" />
                  <span>
                    {formatPercent(f.coldStartRate)}
                    <span className="muted small"> ({formatCount(f.coldStarts)})</span>
                  </span>
                </div>
              </td>
              <td className="num">{formatDuration(f.initDuration ? f.initDuration.p95Nano / 1e6 : null)}</td>
              <td className="num">{formatDuration(f.duration ? f.duration.p95Nano / 1e6 : null)}</td>
              <td className={`num${f.timeouts > 0 ? ' text-warn' : ''}`}>{formatCount(f.timeouts)}</td>
              <td className={`num${f.errors > 0 ? ' text-error' : ''}`}>{formatCount(f.errors)}</td>
              <td className="num" title={`compute ${formatCost(f.cost.computeUsd)} + requests ${formatCost(f.cost.requestsUsd)}`}>
                {formatCost(f.cost.totalUsd)}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Trend({
  name,
  version,
  range,
  metric,
  color,
}: {
  name: string;
  version: string;
  range: TimeRange;
  metric: 'invocations' | 'coldstarts';
  color: string;
}) {
  const q = useTimeseries(name, metric, range, version || undefined);
  const aligned = useMemo(() => alignSeries([q.data]), [q.data]);
  if (!q.data) return <span className="sparkline sparkline-empty" aria-hidden="true" />;
  return (
    <Sparkline timestamps={aligned.timestamps} values={aligned.values[0]} color={color} label={`${metric} of ${name} over time`} />
  );
}
