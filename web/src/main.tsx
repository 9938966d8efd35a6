import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { RouterProvider } from 'react-router';
import { ApiError, onAuthFailure } from './api/client';
import { router } from './routes';
import './styles.css';

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // 4xx answers are final (not found, forbidden, validation): only network trouble and 5xx are retried.
      retry: (count, err) => !(err instanceof ApiError && err.status >= 400 && err.status < 500) && count < 2,
      refetchOnWindowFocus: false,
      staleTime: 10_000,
    },
  },
});

// A 401 anywhere means the session is gone: sign in, then come back to the same page.
onAuthFailure(() => {
  const here = location.pathname + location.search;
  queryClient.clear();
  if (!location.pathname.startsWith('/sign-in')) void router.navigate(`/sign-in?next=${encodeURIComponent(here)}`, { replace: true });
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <RouterProvider router={router} />
    </QueryClientProvider>
  </StrictMode>,
);
