import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';

/** The organization's members (first 200), for showing an agent's name instead of a user id. */
export function useMembers() {
  const q = useQuery({
    queryKey: ['members', 'all'],
    queryFn: () => unwrap(api.GET('/api/organizations/current/members', { params: { query: { limit: 200 } } })),
    staleTime: 60_000,
  });
  const list = q.data?.data ?? [];
  const nameOf = (userId: string | null | undefined) => (userId ? (list.find((m) => m.userId === userId)?.name ?? 'A former member') : null);
  return { query: q, list, nameOf };
}
