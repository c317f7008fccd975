import { lazy } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import { createBrowserRouter, type RouteObject } from 'react-router';
import { traceQuery } from './api/hooks';
import { Layout } from './components/Layout';
import { FunctionsPage } from './pages/FunctionsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { RouteErrorPage } from './pages/RouteErrorPage';

// The landing page ships in the first download; every other page is a
// chunk of its own, fetched when first opened.
const FunctionPage = lazy(() => import('./pages/FunctionPage'));
const TraceSearchPage = lazy(() => import('./pages/TraceSearchPage'));
const TracePage = lazy(() => import('./pages/TracePage'));
const ServiceMapPage = lazy(() => import('./pages/ServiceMapPage'));

export function routes(queryClient: QueryClient): RouteObject[] {
  return [
    {
      element: <Layout />,
      // Only when the frame itself fails: the page alone, without it.
      errorElement: <RouteErrorPage />,
      children: [
        {
          // A page that fails to render says so inside the frame, so the
          // navigation stays.
          errorElement: <RouteErrorPage />,
          children: pages(queryClient),
        },
      ],
    },
  ];
}

function pages(queryClient: QueryClient): RouteObject[] {
  return [
    { path: '/', element: <FunctionsPage /> },
    { path: '/functions/:name', element: <FunctionPage /> },
    { path: '/traces', element: <TraceSearchPage /> },
    {
      path: '/traces/:traceId',
      element: <TracePage />,
      // Start fetching the trace while the page's code is still
      // downloading; the page then finds it in the cache. Not awaited:
      // the page shows its own loading and error states.
      loader: ({ params }) => {
        void queryClient.prefetchQuery(traceQuery(params.traceId ?? ''));
        return null;
      },
    },
    { path: '/map', element: <ServiceMapPage /> },
    { path: '*', element: <NotFoundPage /> },
  ];
}

export function createRouter(queryClient: QueryClient) {
  return createBrowserRouter(routes(queryClient));
}
