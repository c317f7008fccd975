import { isRouteErrorResponse, Link, useLocation, useRouteError } from 'react-router';

/**
 * What a page that failed to render shows instead of React Router's
 * developer page: what failed, inside the app's frame (the top bar stays),
 * and where to go next. It is usually an API answer this UI does not
 * understand (an older or newer server, a proxy's page).
 */
export function RouteErrorPage() {
  const error = useRouteError();
  const { pathname } = useLocation();
  return (
    <div className="state state-error" role="alert">
      <strong>This page could not be shown</strong>
      <p>
        <code>{pathname}</code> failed: {describe(error)}
      </p>
      <p className="muted small">
        If the API answered something this UI does not expect, the UI and the server may be of different versions.
      </p>
      <p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>{' '}
        <Link to="/">Go to the functions</Link> or <Link to="/traces">search traces</Link>.
      </p>
    </div>
  );
}

function describe(error: unknown): string {
  if (isRouteErrorResponse(error)) return `${error.status} ${error.statusText}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
