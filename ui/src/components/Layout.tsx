import { Suspense } from 'react';
import { Link, NavLink, Outlet } from 'react-router';
import { ApiError } from '../api/client';
import { useStatus } from '../api/hooks';
import { useRangeSearch } from '../lib/useTimeRange';
import { Loading } from './States';
import { ThemeToggle } from './ThemeToggle';
import { TimeRangePicker } from './TimeRangePicker';
import { TokenButton, TokenDialog } from './TokenDialog';

export function Layout() {
  const search = useRangeSearch();
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <Link to={`/${search}`} className="brand">
          <span aria-hidden="true">❄</span> Coldtrace
        </Link>
        <nav aria-label="Main">
          <NavLink to={`/${search}`} end>
            Functions
          </NavLink>
          <NavLink to={`/traces${search}`}>Traces</NavLink>
          <NavLink to={`/map${search}`}>Service map</NavLink>
        </nav>
        <div className="topbar-tools">
          <TimeRangePicker />
          <TokenButton />
          <ThemeToggle />
        </div>
      </header>
      <StorageBanner />
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Outlet />
        </Suspense>
      </main>
      <TokenDialog />
    </div>
  );
}

function StorageBanner() {
  const { data, error } = useStatus();
  // A missing token is the token dialog's business.
  if (error instanceof ApiError && error.status === 401) return null;
  if (error) {
    return (
      <div className="banner banner-error" role="alert">
        The Coldtrace API does not answer: {(error as Error).message}
      </div>
    );
  }
  if (data && !data.clickhouse.reachable) {
    return (
      <div className="banner banner-error" role="alert">
        ClickHouse is unreachable{data.clickhouse.error ? `: ${data.clickhouse.error}` : ''}.
      </div>
    );
  }
  return null;
}
