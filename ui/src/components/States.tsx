// Loading, error and empty states shared by every page.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { askForToken } from '../api/token';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const status = error instanceof ApiError ? error.status : undefined;
  const message = error instanceof Error ? error.message : String(error);
  if (status === 401) {
    return (
      <div className="state state-error" role="alert">
        <strong>API token needed</strong>
        <p>{message}</p>
        <button type="button" onClick={askForToken}>
          Enter API token
        </button>
      </div>
    );
  }
  // A 400 is the request's own fault: asking again cannot help.
  const refused = status === 400;
  return (
    <div className="state state-error" role="alert">
      <strong>{status === 404 ? 'Not found' : refused ? 'The API refused this request' : 'Something went wrong'}</strong>
      <p>{message}</p>
      {onRetry && !refused && (
        <button type="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

/** What to do when there is no data at all yet. */
export function GettingStarted() {
  return (
    <div className="getting-started">
      <p>Run Coldtrace with its example functions, then invoke them through the function gateway:</p>
      <pre>
        <code>{`coldtrace up --examples
curl http://localhost:8080/fn/{name}/`}</code>
      </pre>
      <p>
        Or point any OpenTelemetry SDK at this server: OTLP/HTTP <code>http://localhost:4318</code>, OTLP/gRPC{' '}
        <code>localhost:4317</code>. A wider time range may also show older data.
      </p>
    </div>
  );
}
