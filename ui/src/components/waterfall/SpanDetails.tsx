// Everything known about one span: timing, status, attributes, resource,
// events and links.
import { Link } from 'react-router';
import { serviceColor } from '../../lib/color';
import { SpanBadges } from '../Badges';
import { formatDuration } from '../../lib/format';
import { spanMarks, type WaterfallSpan } from '../../lib/spanTree';

export interface SpanDetailsProps {
  span: WaterfallSpan;
  onClose: () => void;
}

export function SpanDetails({ span, onClose }: SpanDetailsProps) {
  const marks = spanMarks(span);
  return (
    <aside className="span-details" aria-label={`Span ${span.name}`}>
      <header>
        <h2>
          <span className="swatch" style={{ background: serviceColor(span.service) }} aria-hidden="true" />
          {span.name}
        </h2>
        <button type="button" className="icon-button" aria-label="Close span details" onClick={onClose}>
          ✕
        </button>
      </header>
      <div className="span-marks">
        <SpanBadges marks={marks} />
      </div>
      <dl className="kv-grid">
        <dt>Service</dt>
        <dd>{span.service}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(span.durationMs)}</dd>
        <dt>Starts at</dt>
        <dd>+{formatDuration(span.startMs)} from the trace's start</dd>
        <dt>Kind</dt>
        <dd>{span.kind || '–'}</dd>
        <dt>Status</dt>
        <dd>
          {span.status}
          {span.statusMessage && `: ${span.statusMessage}`}
        </dd>
        <dt>Span ID</dt>
        <dd className="mono">{span.spanId}</dd>
        {span.parentSpanId && (
          <>
            <dt>Parent</dt>
            <dd className="mono">{span.parentSpanId}</dd>
          </>
        )}
      </dl>
      {span.facts.length > 0 && (
        <section>
          <h3>Invocation</h3>
          <dl className="kv-grid">
            {span.facts.map(([label, value]) => (
              <Fact key={label} label={label} value={value} />
            ))}
          </dl>
        </section>
      )}
      <AttributeTable title="Attributes" attrs={span.attributes} />
      <AttributeTable title="Resource" attrs={span.resource} />
      <section>
        <h3>Events ({span.events.length})</h3>
        {span.events.length === 0 ? (
          <p className="muted">No events.</p>
        ) : (
          <ol className="event-list">
            {span.events.map((ev, i) => (
              <li key={i}>
                <div>
                  <strong>{ev.name}</strong>{' '}
                  <span className="muted">+{formatDuration(ev.timeMs - span.startMs)}</span>
                </div>
                <AttributeRows attrs={ev.attributes} />
              </li>
            ))}
          </ol>
        )}
      </section>
      <section>
        <h3>Links ({span.links.length})</h3>
        {span.links.length === 0 ? (
          <p className="muted">No links.</p>
        ) : (
          <ul className="link-list">
            {span.links.map((l, i) => (
              <li key={i}>
                <Link to={`/traces/${encodeURIComponent(l.traceId)}?span=${encodeURIComponent(l.spanId)}`} className="mono">
                  {l.traceId} / {l.spanId}
                </Link>
                <AttributeRows attrs={l.attributes} />
              </li>
            ))}
          </ul>
        )}
      </section>
    </aside>
  );
}

function Fact({ label, value }: { label: string; value: string }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{value}</dd>
    </>
  );
}

function AttributeTable({ title, attrs }: { title: string; attrs: Record<string, string> }) {
  const n = Object.keys(attrs).length;
  return (
    <section>
      <h3>
        {title} ({n})
      </h3>
      {n === 0 ? <p className="muted">None.</p> : <AttributeRows attrs={attrs} />}
    </section>
  );
}

function AttributeRows({ attrs }: { attrs: Record<string, string> }) {
  const keys = Object.keys(attrs).sort();
  if (keys.length === 0) return null;
  return (
    <table className="attr-table">
      <tbody>
        {keys.map((k) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>{attrs[k]}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
