// One trace: summary, waterfall and the selected span's details. The
// selected span is in the URL (?span=…) so a link can point at it.
import { useCallback, useMemo } from 'react';
import { Link, useLocation, useParams, useSearchParams } from 'react-router';
import { ApiError } from '../api/client';
import { useTrace } from '../api/hooks';
import { traceSpans } from '../api/spans';
import type { TraceSummary } from '../api/types';
import { TraceBadges } from '../components/Badges';
import { EmptyState, ErrorState, Loading } from '../components/States';
import { SpanDetails } from '../components/waterfall/SpanDetails';
import { Waterfall } from '../components/waterfall/Waterfall';
import { formatCost, formatDuration, formatTime } from '../lib/format';
import { usePageTitle } from '../lib/usePageTitle';
import { useBackToSearch } from '../lib/useTimeRange';

export default function TracePage() {
  const { traceId = '' } = useParams();
  usePageTitle(`Trace ${traceId.slice(0, 8)}`);
  const [params, setParams] = useSearchParams();
  const selected = params.get('span') ?? undefined;
  const q = useTrace(traceId);
  const spans = useMemo(() => (q.data ? traceSpans(q.data) : []), [q.data]);
  const selectedSpan = useMemo(() => spans.find((s) => s.spanId === selected), [spans, selected]);
  const backToSearch = useBackToSearch();
  const { state } = useLocation();

  const select = useCallback(
    (spanId: string | undefined) =>
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          if (spanId) next.set('span', spanId);
          else next.delete('span');
          return next;
        },
        // Keep the entry's state: it holds the search the breadcrumb returns to.
        { replace: true, state },
      ),
    [setParams, state],
  );

  return (
    <div className="page trace-page">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to={backToSearch}>Traces</Link> <span aria-hidden="true">/</span>
      </nav>
      {q.isPending ? (
        <Loading label="Loading trace…" />
      ) : q.isError ? (
        q.error instanceof ApiError && q.error.status === 404 ? (
          <EmptyState title="Trace not found">
            <p>
              No span of trace <code>{traceId}</code> is stored. Spans can take a moment to arrive, and traces older than
              the retention are removed.
            </p>
          </EmptyState>
        ) : (
          <ErrorState error={q.error} onRetry={() => q.refetch()} />
        )
      ) : (
        <>
          <TraceHeader summary={q.data.summary} />
          {q.data.warnings?.map((w) => (
            <p key={w} className="trace-warning" role="note">
              {w}
            </p>
          ))}
          <div className={`trace-body${selectedSpan ? ' with-details' : ''}`}>
            <Waterfall spans={spans} selectedSpanId={selected} onSelect={select} />
            {selectedSpan && <SpanDetails span={selectedSpan} onClose={() => select(undefined)} />}
          </div>
        </>
      )}
    </div>
  );
}

function TraceHeader({ summary: s }: { summary: TraceSummary }) {
  return (
    <header className="page-header trace-header">
      <h1>
        {s.rootService}: {s.rootOperation}
      </h1>
      <dl className="inline-facts">
        <div>
          <dt>Trace</dt>
          <dd className="mono">{s.traceId}</dd>
        </div>
        <div>
          <dt>Started</dt>
          <dd title={s.startTime}>{formatTime(s.startTime)}</dd>
        </div>
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(s.durationNano / 1e6)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd>{s.spanCount}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd className={s.errorCount ? 'text-error' : undefined}>{s.errorCount}</dd>
        </div>
        {s.costUsd > 0 && (
          <div>
            <dt>Cost</dt>
            <dd>{formatCost(s.costUsd)}</dd>
          </div>
        )}
      </dl>
      <div className="badges">
        <TraceBadges coldStart={s.coldStart} errorTypes={s.errorTypes} errorCount={s.errorCount} />
      </div>
    </header>
  );
}
