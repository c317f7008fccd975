// The sandbox view of a function: one lane per instance (execution
// environment) from first to last invocation seen, its cold start marked.
import { Link } from 'react-router';
import type { Instance, Window } from '../api/types';
import { counted, formatBytes, formatDuration, formatPercent, formatTime, instanceLabel } from '../lib/format';
import { pointSeconds } from '../lib/series';
import { useRangeSearch } from '../lib/useTimeRange';

export function InstanceTimeline({ instances, window }: { instances: Instance[]; window: Window }) {
  const from = pointSeconds(window.startUnixNano);
  const to = pointSeconds(window.endUnixNano);
  const span = Math.max(to - from, 1);
  const pct = (unixNano: string) => Math.min(100, Math.max(0, ((pointSeconds(unixNano) - from) / span) * 100));
  const versions = [...new Set(instances.map((i) => i.version))].sort();
  const rangeSearch = useRangeSearch();

  return (
    <div className="instances">
      <div className="instances-axis muted small" aria-hidden="true">
        <span>{formatTime(window.start)}</span>
        <span>{formatTime(window.end)}</span>
      </div>
      <ol className="instance-lanes" aria-label="Instances, newest first">
        {instances.map((inst) => {
          const left = pct(inst.firstSeenUnixNano);
          const width = Math.max(pct(inst.lastSeenUnixNano) - left, 0.4);
          const memory =
            inst.memoryUsedRatio !== null
              ? `${formatBytes(inst.peakMemoryBytes)} of ${formatBytes(inst.memoryLimitBytes)} (${formatPercent(inst.memoryUsedRatio)})`
              : formatBytes(inst.peakMemoryBytes || null); // 0: not reported
          return (
            <li key={inst.instance} className="instance-lane">
              <div className="instance-label">
                <span className="mono" title={inst.instance}>
                  {instanceLabel(inst.instance)}
                </span>
                {versions.length > 1 && <span className="muted small"> v{inst.version}</span>}
                <div className="muted small">
                  {counted(inst.invocations, 'invocation')}
                  {inst.errors > 0 && <span className="text-error"> · {counted(inst.errors, 'error')}</span>} · {memory}
                </div>
              </div>
              <div className="instance-track">
                <span
                  className={`instance-bar${inst.errors > 0 ? ' is-error' : ''}`}
                  style={{ left: `${left}%`, width: `${width}%` }}
                  title={`${formatTime(inst.firstSeen)} – ${formatTime(inst.lastSeen)}`}
                />
                {inst.coldStart && (
                  <Link
                    to={`/traces/${inst.coldStart.traceId}${rangeSearch ? `${rangeSearch}&` : '?'}span=${inst.coldStart.spanId}`}
                    className="instance-coldstart"
                    style={{ left: `${left}%` }}
                    title={`Cold start at ${formatTime(inst.coldStart.time)}, init ${formatDuration(inst.coldStart.initDurationNano / 1e6)}: open its trace`}
                    aria-label={`Cold start of instance ${instanceLabel(inst.instance)}, init ${formatDuration(inst.coldStart.initDurationNano / 1e6)}`}
                  >
                    ❄
                  </Link>
                )}
              </div>
            </li>
          );
        })}
      </ol>
    </div>
  );
}
