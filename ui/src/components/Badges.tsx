// The marks every page uses for the same facts: cold starts, init spans,
// timeouts and other error types.
import { counted } from '../lib/format';
import type { SpanMarks } from '../lib/spanTree';

export function ColdStartBadge() {
  return <span className="badge badge-cold">❄ cold start</span>;
}

export function ErrorTypeBadge({ type }: { type: string }) {
  return <span className={`badge ${type === 'timeout' ? 'badge-timeout' : 'badge-error'}`}>{type || 'error'}</span>;
}

/** A span's marks: cold start, init, and its error type (or plain "error"). */
export function SpanBadges({ marks }: { marks: SpanMarks }) {
  return (
    <>
      {marks.coldStart && <ColdStartBadge />}
      {marks.init && <span className="badge badge-init">init</span>}
      {marks.error && <ErrorTypeBadge type={marks.errorType} />}
    </>
  );
}

/** A trace's marks: cold start, each error type, or an error count when spans failed without one. */
export function TraceBadges({ coldStart, errorTypes, errorCount }: { coldStart: boolean; errorTypes: string[] | null; errorCount: number }) {
  const types = errorTypes ?? [];
  return (
    <>
      {coldStart && <ColdStartBadge />}
      {types.map((e) => (
        <ErrorTypeBadge key={e} type={e} />
      ))}
      {errorCount > 0 && types.length === 0 && <span className="badge badge-error">{counted(errorCount, 'error')}</span>}
    </>
  );
}
