import type { FastifyReply } from 'fastify';
import { z } from 'zod';

// The development outboxes' files (DATA_DIR/outbox/<organization or _account>/<time>-<uuid>.eml), as the
// email outbox and the account-mail viewer serve them.

/** An outbox file's name: nothing else reaches the file system. */
export const OutboxFileId = z.string().regex(/^\d+-[0-9a-f-]{36}\.eml$/);

/** The OpenAPI response of a raw message. */
export const RawMessage = { description: 'The raw RFC 5322 message', content: { 'message/rfc822': { schema: z.string() } } };

/** Raw mail is attacker-shaped content (any organization's template): an attachment, never rendered by the browser as our page. */
export const sendRawMessage = (reply: FastifyReply, name: string, body: Buffer) =>
  reply
    .type('message/rfc822')
    .header('x-content-type-options', 'nosniff')
    .header('content-disposition', `attachment; filename="${name}"`)
    .send(body as unknown as string); // the bytes as stored: Fastify sends a Buffer untouched
