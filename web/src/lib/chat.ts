// The inbox's shared parts: its types (from the generated API types), the agents list, and the live
// stream (GET /api/chat/live, server-sent events for the signed-in agent's active organization) that
// keeps the conversation list and an open thread current without reload.
import { useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { api, unwrap, type Body } from '../api/client';

export type Conversation = Body<'/api/chat/conversations/{id}', 'get'>;
export type Message = Body<'/api/chat/conversations/{id}/messages', 'get'>['data'][number];
export type Inbox = Body<'/api/chat/inboxes/{id}', 'get'>;
export type Agent = Body<'/api/chat/agents', 'get'>['data'][number];

export const STATUSES = ['open', 'pending', 'snoozed', 'resolved'] as const;
export const CHANNELS = [
  { value: 'web', label: 'Web chat' },
  { value: 'sms', label: 'SMS' },
  { value: 'email', label: 'Email' },
] as const;
export const channelLabel = (c: string) => CHANNELS.find((x) => x.value === c)?.label ?? c;

/** Who the conversation is with: the customer's name, email or phone, else the visitor's name. */
export function customerName(c: Pick<Conversation, 'customer' | 'visitorName'>) {
  const cu = c.customer;
  const name = cu ? [cu.firstName, cu.lastName].filter(Boolean).join(' ') : '';
  return name || cu?.email || cu?.phone || c.visitorName || 'Website visitor';
}

export const chatKeys = {
  conversations: ['chat-conversations'] as const,
  conversation: (id: string) => ['chat-conversation', id] as const,
  messages: (id: string) => ['chat-messages', id] as const,
  sidebar: (id: string) => ['chat-sidebar', id] as const,
};

export function useAgents() {
  return useQuery({ queryKey: ['chat-agents'], queryFn: () => unwrap(api.GET('/api/chat/agents')), staleTime: 30_000 });
}
export function useTeams() {
  return useQuery({ queryKey: ['chat-teams'], queryFn: () => unwrap(api.GET('/api/chat/teams')), staleTime: 30_000 });
}

interface LiveData {
  conversationId: string;
  conversation?: Conversation;
  message?: Message;
}

/** Puts a message at the end of an open thread's cached page, once. */
function appendMessage(qc: QueryClient, m: Message) {
  qc.setQueryData(chatKeys.messages(m.conversationId), (old: { data: Message[]; nextCursor?: string | null } | undefined) =>
    old && !old.data.some((x) => x.id === m.id) ? { ...old, data: [...old.data, m] } : old,
  );
}

/**
 * The live stream while an inbox page is shown: new conversations and changes refresh the lists, new
 * messages are appended to an open thread, a changed conversation replaces its cached copy. The browser
 * reconnects a dropped stream itself; after a reconnect everything shown is fetched again (events sent
 * while away are not replayed). Answers whether the stream is connected.
 */
export function useChatLive() {
  const qc = useQueryClient();
  const [connected, setConnected] = useState(false);
  const opened = useRef(false);
  useEffect(() => {
    let es: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let delay = 1000;
    let stopped = false;
    const connect = () => {
      es = new EventSource('/api/chat/live');
      es.addEventListener('open', () => {
        setConnected(true);
        delay = 1000;
        if (opened.current) void qc.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith('chat-') });
        opened.current = true;
      });
      const on = (type: string, fn: (d: LiveData) => void) =>
        es!.addEventListener(type, (e) => {
          try {
            fn(JSON.parse((e as MessageEvent<string>).data) as LiveData);
          } catch {
            /* a malformed event is ignored */
          }
        });
      // The session switched organization (or ended): what is cached belongs to the old one.
      on('reset', () => void qc.invalidateQueries({ predicate: (q) => String(q.queryKey[0]).startsWith('chat-') }));
      on('conversation.created', () => void qc.invalidateQueries({ queryKey: chatKeys.conversations }));
      on('conversation.updated', (d) => {
        if (d.conversation) qc.setQueryData(chatKeys.conversation(d.conversationId), d.conversation);
        else void qc.invalidateQueries({ queryKey: chatKeys.conversation(d.conversationId) });
        void qc.invalidateQueries({ queryKey: chatKeys.conversations });
      });
      on('message.created', (d) => {
        if (d.message) appendMessage(qc, d.message);
        else void qc.invalidateQueries({ queryKey: chatKeys.messages(d.conversationId) });
        void qc.invalidateQueries({ queryKey: chatKeys.conversations });
      });
      es.addEventListener('error', () => {
        setConnected(false);
        // Refused (not merely dropped): the browser gives up, so try again, slower each time.
        if (es?.readyState === EventSource.CLOSED && !stopped) {
          timer = setTimeout(connect, delay);
          delay = Math.min(delay * 2, 30_000);
        }
      });
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      es?.close();
    };
  }, [qc]);
  return connected;
}

export { appendMessage };
