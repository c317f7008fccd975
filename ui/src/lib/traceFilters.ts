// Trace search filters in the page URL (?service=…&attr=key=value&…), so a
// search can be shared as a link. Names match the API's parameters.
import { attributeParam, type TraceFilters } from '../api/hooks';

const SINGLE = ['service', 'operation', 'minDuration', 'maxDuration', 'status', 'coldStart', 'errorType'] as const;

export function readFilters(params: URLSearchParams): TraceFilters {
  const f: TraceFilters = {};
  for (const k of SINGLE) {
    const v = params.get(k)?.trim();
    if (v) f[k] = v;
  }
  const attrs = params.getAll('attr').filter((a) => a.indexOf('=') > 0);
  if (attrs.length) f.attrs = attrs;
  return f;
}

/** Returns params with the filters replaced (other parameters, such as the time range, kept). */
export function writeFilters(params: URLSearchParams, f: TraceFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  for (const k of SINGLE) {
    next.delete(k);
    const v = f[k]?.trim();
    if (v) next.set(k, v);
  }
  next.delete('attr');
  for (const a of f.attrs ?? []) if (a.indexOf('=') > 0) next.append('attr', a);
  return next;
}

// Go durations (what the API takes): 250ms, 1.5s, 2m, 1h30m, 100us, or integer nanoseconds.
const GO_DURATION = /^(\d+|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/;

/** A message for a malformed filter, or '' when every filter is valid. */
export function validateFilters(f: TraceFilters): string {
  for (const k of ['minDuration', 'maxDuration'] as const) {
    const v = f[k];
    if (v && !GO_DURATION.test(v)) return `${k === 'minDuration' ? 'Min' : 'Max'} duration "${v}" is not a duration such as 250ms, 1.5s or 2m.`;
  }
  // The API takes each attr.KEY (resource.KEY) once: a span attribute has one value.
  const seen = new Map<string, string>();
  for (const a of f.attrs ?? []) {
    const p = attributeParam(a);
    if (!p) return `Attribute filter "${a}" needs the form key=value (key= for "has the key").`;
    const first = seen.get(p.name);
    if (first !== undefined) {
      return `Attribute filters "${first}" and "${a}" are on the same key: an attribute has one value, so keep one of them.`;
    }
    seen.set(p.name, a);
  }
  return '';
}
