import { lazy } from 'react';
import { createBrowserRouter, type RouteObject } from 'react-router';
import { Layout } from './components/Layout';
import { FunctionsPage } from './pages/FunctionsPage';
import { NotFoundPage } from './pages/NotFoundPage';

// The landing page ships in the first download; every other page is a
// chunk of its own, fetched when first opened.
const FunctionPage = lazy(() => import('./pages/FunctionPage'));
const TraceSearchPage = lazy(() => import('./pages/TraceSearchPage'));
const TracePage = lazy(() => import('./pages/TracePage'));
const ServiceMapPage = lazy(() => import('./pages/ServiceMapPage'));

export const routes: RouteObject[] = [
  {
    element: <Layout />,
    children: [
      { path: '/', element: <FunctionsPage /> },
      { path: '/functions/:name', element: <FunctionPage /> },
      { path: '/traces', element: <TraceSearchPage /> },
      { path: '/traces/:traceId', element: <TracePage /> },
      { path: '/map', element: <ServiceMapPage /> },
      { path: '*', element: <NotFoundPage /> },
    ],
  },
];

export function createRouter() {
  return createBrowserRouter(routes);
}
