import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

export const sessionKey = ['session'] as const;

/** The signed-in user, their organizations and the active one (GET /api/auth/session). */
export const useSession = () =>
  useQuery({ queryKey: sessionKey, queryFn: () => unwrap(api.GET('/api/auth/session')), staleTime: 60_000 });

/** Where to go after signing in: the page the user was sent away from, if it is one of ours. */
export function nextPath(search: URLSearchParams) {
  const next = search.get('next');
  return next && next.startsWith('/') && !next.startsWith('//') ? next : '/';
}
