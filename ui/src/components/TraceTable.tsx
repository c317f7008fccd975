// A list of trace summaries with a duration bar each, newest first: the
// search results, and the recent cold starts and timeouts of a function.
import { Link } from 'react-router';
import type { TraceSummary } from '../api/types';
import { TraceBadges } from './Badges';
import { serviceColor } from '../lib/color';
import { formatAge, formatDuration, formatTime, shortId } from '../lib/format';
import { useFromSearchState, useRangeSearch } from '../lib/useTimeRange';

export function TraceTable({ traces, caption }: { traces: TraceSummary[]; caption: string }) {
  const longest = Math.max(1, ...traces.map((t) => t.durationNano));
  // A trace opens in the window it was found in, and its breadcrumb
  // returns to the search it was found by.
  const rangeSearch = useRangeSearch();
  const fromSearch = useFromSearchState();
  return (
    <table className="data-table trace-table">
      <caption className="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Started</th>
          <th scope="col">Trace</th>
          <th scope="col" className="col-bar">
            Duration
          </th>
          <th scope="col" className="num">
            Spans
          </th>
          <th scope="col">Services</th>
        </tr>
      </thead>
      <tbody>
        {traces.map((t) => {
          const ms = t.durationNano / 1e6;
          return (
            <tr key={t.traceId}>
              <td title={t.startTime}>
                <div>{formatTime(t.startTime)}</div>
                <div className="muted small">{formatAge(t.startTime)}</div>
              </td>
              <td className="col-trace">
                <Link to={`/traces/${t.traceId}${rangeSearch}`} state={fromSearch} className="trace-link">
                  <span className="swatch" style={{ background: serviceColor(t.rootService) }} aria-hidden="true" />
                  <strong>{t.rootService}</strong> {t.rootOperation}
                </Link>
                <div className="badges">
                  <span className="mono muted small">{shortId(t.traceId, 12)}</span>
                  <TraceBadges coldStart={t.coldStart} errorTypes={t.errorTypes} errorCount={t.errorCount} />
                </div>
              </td>
              <td className="col-bar">
                <div className="duration-bar" aria-hidden="true">
                  <span
                    style={{ width: `${Math.max(1, (t.durationNano / longest) * 100)}%` }}
                    className={t.errorCount > 0 ? 'is-error' : undefined}
                  />
                </div>
                {formatDuration(ms)}
              </td>
              <td className="num">{t.spanCount}</td>
              <td className="small col-services">{(t.services ?? []).join(', ')}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
