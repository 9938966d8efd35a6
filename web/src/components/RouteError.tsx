import { isRouteErrorResponse, Link, useRouteError } from 'react-router';

/** A page that failed to load (a chunk lost after a deploy, a bug): said in words, with a way out. */
export function RouteError() {
  const err = useRouteError();
  const message = isRouteErrorResponse(err) ? `${err.status} ${err.statusText}` : err instanceof Error ? err.message : 'Something went wrong.';
  return (
    <main className="auth-page">
      <div className="auth-card" role="alert">
        <h1>Something went wrong</h1>
        <p>{message}</p>
        <p>
          <a href={location.href}>Reload the page</a> or <Link to="/">go to the dashboard</Link>.
        </p>
      </div>
    </main>
  );
}
