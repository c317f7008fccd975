import { useEffect, useId, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { PRESETS, describeRange, resolveRange, type TimeRange } from '../lib/timeRange';
import { useTimeRange } from '../lib/useTimeRange';

// datetime-local inputs speak local wall-clock time without a zone.
function toLocalInput(d: Date): string {
  const off = d.getTimezoneOffset() * 60_000;
  return new Date(d.getTime() - off).toISOString().slice(0, 16);
}

export function TimeRangePicker() {
  const [range, setRange] = useTimeRange();
  const [open, setOpen] = useState(false);
  const queryClient = useQueryClient();
  const panelId = useId();
  const rootRef = useRef<HTMLDivElement>(null);

  useEffect(() => {
    if (!open) return;
    const onDown = (e: MouseEvent) => {
      if (!rootRef.current?.contains(e.target as Node)) setOpen(false);
    };
    document.addEventListener('mousedown', onDown);
    return () => document.removeEventListener('mousedown', onDown);
  }, [open]);

  const choose = (r: TimeRange) => {
    setRange(r);
    setOpen(false);
  };

  return (
    <div
      className="range-picker"
      ref={rootRef}
      onKeyDown={(e) => {
        if (e.key === 'Escape' && open) {
          e.stopPropagation();
          setOpen(false);
          rootRef.current?.querySelector<HTMLButtonElement>('.range-button')?.focus();
        }
      }}
    >
      <button
        type="button"
        className="range-button"
        aria-haspopup="dialog"
        aria-expanded={open}
        aria-controls={panelId}
        onClick={() => setOpen((o) => !o)}
        title="Time range"
      >
        <span aria-hidden="true">◷</span> {describeRange(range)}
      </button>
      <button
        type="button"
        className="icon-button"
        title="Refresh"
        aria-label="Refresh"
        onClick={() => queryClient.invalidateQueries()}
      >
        ↻
      </button>
      {open && <RangePanel id={panelId} range={range} onChoose={choose} />}
    </div>
  );
}

function RangePanel({ id, range, onChoose }: { id: string; range: TimeRange; onChoose: (r: TimeRange) => void }) {
  const resolved = resolveRange(range);
  const [from, setFrom] = useState(toLocalInput(resolved.from));
  const [to, setTo] = useState(toLocalInput(resolved.to));
  const [error, setError] = useState('');
  const firstRef = useRef<HTMLButtonElement>(null);
  useEffect(() => firstRef.current?.focus(), []);

  const applyCustom = (e: React.FormEvent) => {
    e.preventDefault();
    const f = new Date(from).getTime();
    const t = new Date(to).getTime();
    if (!Number.isFinite(f) || !Number.isFinite(t)) return setError('Enter both dates.');
    if (f >= t) return setError('"From" must be before "to".');
    onChoose({ kind: 'absolute', from: f, to: t });
  };

  return (
    <div className="range-panel" id={id} role="dialog" aria-label="Choose a time range">
      <ul className="range-presets">
        {PRESETS.map((p, i) => (
          <li key={p.last}>
            <button
              type="button"
              ref={i === 0 ? firstRef : undefined}
              aria-pressed={range.kind === 'relative' && range.last === p.last}
              onClick={() => onChoose({ kind: 'relative', last: p.last })}
            >
              {p.label}
            </button>
          </li>
        ))}
      </ul>
      <form className="range-custom" onSubmit={applyCustom}>
        <label>
          From
          <input type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} />
        </label>
        <label>
          To
          <input type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} />
        </label>
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary">
          Apply
        </button>
      </form>
    </div>
  );
}
