// Trace search: filters on the left of the results, all carried in the URL.
import { useEffect, useId, useMemo, useState } from 'react';
import { useSearchParams } from 'react-router';
import { RESOURCE_PREFIX, useAttributeKeys, useOperations, useServices, useTraceSearch, type TraceFilters } from '../api/hooks';
import { ERROR_TYPES } from '../api/types';
import { EmptyState, ErrorState, GettingStarted, Loading } from '../components/States';
import { TraceTable } from '../components/TraceTable';
import { describeRange } from '../lib/timeRange';
import { readFilters, validateFilters, writeFilters } from '../lib/traceFilters';
import { usePageTitle } from '../lib/usePageTitle';
import { useTimeRange } from '../lib/useTimeRange';

export default function TraceSearchPage() {
  usePageTitle('Traces');
  const [params, setParams] = useSearchParams();
  const [range] = useTimeRange();
  // Keyed by the filters alone: a new time range is no reason to reset the
  // form's unapplied edits.
  const filterKey = writeFilters(new URLSearchParams(), readFilters(params)).toString();
  const applied = useMemo(() => readFilters(new URLSearchParams(filterKey)), [filterKey]);
  const problem = validateFilters(applied);

  return (
    <div className="page search-page">
      <header className="page-header">
        <h1>Traces</h1>
      </header>
      <div className="search-layout">
        <FilterForm applied={applied} onApply={(f) => setParams((prev) => writeFilters(prev, f))} />
        <section className="search-results" aria-label="Results">
          {problem ? (
            <ErrorState error={new Error(problem)} />
          ) : (
            <Results filters={applied} rangeLabel={describeRange(range)} />
          )}
        </section>
      </div>
    </div>
  );
}

function Results({ filters, rangeLabel }: { filters: TraceFilters; rangeLabel: string }) {
  const [range] = useTimeRange();
  const q = useTraceSearch(filters, range);
  if (q.isPending) return <Loading label="Searching…" />;
  // Only a search that has nothing to show is an error instead of results:
  // a failed next page (or refresh) leaves the rows already shown.
  if (!q.data) return <ErrorState error={q.error} onRetry={() => q.refetch()} />;
  // While a changed search runs, the previous results stay, dimmed and
  // said to be stale, rather than passing for the new ones.
  const stale = q.isPlaceholderData;
  const traces = q.data.pages.flatMap((p) => p.traces);
  const filtered = Object.keys(filters).length > 0;
  if (traces.length === 0) {
    if (stale) return <Loading label="Searching…" />;
    return (
      <EmptyState title={`No trace matches in ${rangeLabel.startsWith('Last ') ? 'the ' : ''}${rangeLabel.toLowerCase()}`}>
        {filtered ? <p>Loosen a filter or widen the time range.</p> : <GettingStarted />}
      </EmptyState>
    );
  }
  return (
    <>
      <p className="muted small" role="status">
        {stale
          ? 'Searching… (the results below are from the previous search)'
          : `${traces.length} trace${traces.length === 1 ? '' : 's'}${q.hasNextPage ? ' so far' : ''}, newest first`}
      </p>
      <div className={stale ? 'is-stale' : undefined} aria-busy={stale}>
        <TraceTable traces={traces} caption="Matching traces" />
      </div>
      {q.isFetchNextPageError ? (
        <ErrorState error={q.error} onRetry={() => q.fetchNextPage()} />
      ) : q.isRefetchError ? (
        <ErrorState error={q.error} onRetry={() => q.refetch()} />
      ) : (
        q.hasNextPage &&
        !stale && (
          <button type="button" className="load-more" disabled={q.isFetchingNextPage} onClick={() => q.fetchNextPage()}>
            {q.isFetchingNextPage ? 'Loading…' : 'Load more'}
          </button>
        )
      )}
    </>
  );
}

function FilterForm({ applied, onApply }: { applied: TraceFilters; onApply: (f: TraceFilters) => void }) {
  const [range] = useTimeRange();
  const [draft, setDraft] = useState<TraceFilters>(applied);
  const [attrs, setAttrs] = useState<string[]>(applied.attrs?.length ? applied.attrs : ['']);
  const [error, setError] = useState('');
  // A link or the back button changes the URL: show what it says.
  useEffect(() => {
    setDraft(applied);
    setAttrs(applied.attrs?.length ? applied.attrs : ['']);
  }, [applied]);

  const services = useServices(range);
  const operations = useOperations(draft.service, range);
  const keys = useAttributeKeys(range, draft.service);
  const ids = { ops: useId(), keys: useId() };

  const set = (k: keyof Omit<TraceFilters, 'attrs'>) => (e: React.ChangeEvent<HTMLInputElement | HTMLSelectElement>) =>
    setDraft((d) => ({ ...d, [k]: e.target.value }));

  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    const f: TraceFilters = { ...draft, attrs: attrs.map((a) => a.trim()).filter(Boolean) };
    const msg = validateFilters(f);
    setError(msg);
    if (!msg) onApply(f);
  };

  return (
    <form className="filter-form" onSubmit={submit} aria-label="Trace filters">
      <label>
        Service
        <select value={draft.service ?? ''} onChange={(e) => setDraft((d) => ({ ...d, service: e.target.value, operation: '' }))}>
          <option value="">Any service</option>
          {draft.service && !services.data?.services.some((s) => s.name === draft.service) && (
            <option value={draft.service}>{draft.service}</option>
          )}
          {services.data?.services.map((s) => (
            <option key={s.name} value={s.name}>
              {s.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Operation
        <input list={ids.ops} value={draft.operation ?? ''} onChange={set('operation')} placeholder="Any operation" />
        <datalist id={ids.ops}>
          {operations.data?.operations.map((o) => (
            <option key={`${o.name}/${o.kind}`} value={o.name} />
          ))}
        </datalist>
      </label>
      <div className="field-pair">
        <label>
          Min duration
          <input value={draft.minDuration ?? ''} onChange={set('minDuration')} placeholder="e.g. 100ms" />
        </label>
        <label>
          Max duration
          <input value={draft.maxDuration ?? ''} onChange={set('maxDuration')} placeholder="e.g. 2s" />
        </label>
      </div>
      <label>
        Status
        <select value={draft.status ?? ''} onChange={set('status')}>
          <option value="">Any status</option>
          <option value="error">Error</option>
          <option value="ok">OK</option>
          <option value="unset">Unset</option>
        </select>
      </label>
      <label>
        Cold start
        <select value={draft.coldStart ?? ''} onChange={set('coldStart')}>
          <option value="">Any</option>
          <option value="true">Cold starts only</option>
          <option value="false">Warm only</option>
        </select>
      </label>
      <label>
        Error type
        <select value={draft.errorType ?? ''} onChange={set('errorType')}>
          <option value="">Any</option>
          {ERROR_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </select>
      </label>
      <fieldset>
        <legend>Attributes (key=value)</legend>
        <p className="muted small">
          Span attributes; resource attributes as <code>resource.key=value</code>.
        </p>
        <datalist id={ids.keys}>
          {keys.data?.attributes.map((a) => (
            <option key={`${a.scope}/${a.key}`} value={`${a.scope === 'resource' ? RESOURCE_PREFIX : ''}${a.key}=`} />
          ))}
        </datalist>
        {attrs.map((a, i) => (
          <div key={i} className="attr-row">
            <input
              aria-label={`Attribute filter ${i + 1}`}
              list={ids.keys}
              value={a}
              placeholder="http.route=/users"
              onChange={(e) => setAttrs((all) => all.map((x, j) => (j === i ? e.target.value : x)))}
            />
            <button
              type="button"
              className="icon-button"
              aria-label={`Remove attribute filter ${i + 1}`}
              onClick={() => setAttrs((all) => (all.length > 1 ? all.filter((_, j) => j !== i) : ['']))}
            >
              ✕
            </button>
          </div>
        ))}
        <button type="button" className="link-button" onClick={() => setAttrs((all) => [...all, ''])}>
          + Add attribute
        </button>
      </fieldset>
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      <div className="form-actions">
        <button type="submit" className="primary">
          Search
        </button>
        <button
          type="button"
          onClick={() => {
            setDraft({});
            setAttrs(['']);
            setError('');
            onApply({});
          }}
        >
          Clear
        </button>
      </div>
    </form>
  );
}
