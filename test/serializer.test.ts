// Response serialization (src/http/serializer.ts): what a client receives holds only what the route's
// schema names, whether the schema took the generated fast path or zod's encoder; a response that
// cannot meet its schema is the contract's 500, never a partial body.
import Fastify from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { sendError } from '../src/http/errors.js';
import { fastSerializer, serializerCompiler } from '../src/http/serializer.js';

const Customer = z.object({
  id: z.string(),
  email: z.string().nullable(),
  visits: z.number().int().nullable(),
  address: z.object({ city: z.string() }).nullable(),
  tags: z.array(z.string()),
  attributes: z.record(z.string(), z.unknown()),
  orders: z.array(z.object({ total: z.number() })),
});
const Page = z.object({ data: z.array(Customer), nextCursor: z.string().nullable() });
const Either = z.object({ result: z.union([z.object({ ok: z.literal(true), value: z.string() }), z.object({ ok: z.literal(false), reason: z.string() })]) });

// What a service might hand back by mistake: secrets beside the named fields, at every depth.
const leaky = {
  id: 'c1',
  email: 'a@example.com',
  passwordHash: 'x',
  visits: 3,
  address: { city: 'Lyon', internalNote: 'x' },
  tags: ['vip'],
  attributes: { plan: 'pro', nested: { deep: [1, 'two', null] }, quote: '"</script>' },
  orders: [{ total: 12.5, costPrice: 4 }],
};

describe('response serialization', () => {
  // No type provider: the handlers return more than their schemas name, on purpose.
  const app = Fastify();
  beforeAll(async () => {
    app.setValidatorCompiler(validatorCompiler);
    app.setSerializerCompiler(serializerCompiler);
    app.setErrorHandler((err, _req, reply) => sendError(reply, err));
    app.get('/page', { schema: { response: { 200: Page } } }, async () => ({ data: [leaky, { ...leaky, id: 'c2', email: null, visits: null, address: null }], nextCursor: null, total: 2 }));
    app.get('/either', { schema: { response: { 200: Either } } }, async () => ({ result: { ok: false, reason: 'no', stack: 'secret' }, debug: true }));
    app.get('/broken', { schema: { response: { 200: Page } } }, async () => ({ data: [{ id: 'c1' }], nextCursor: null }));
    await app.ready();
  });
  afterAll(() => app.close());

  it('the list shape takes the generated path; a union keeps zod', () => {
    expect(fastSerializer(Page)).toBeTypeOf('function');
    expect(fastSerializer(Either)).toBeNull();
  });

  it('writes only the named fields, at every depth, nulls and free-form attributes as they are', async () => {
    const res = await app.inject({ url: '/page' });
    expect(res.statusCode).toBe(200);
    const expected = {
      id: 'c1',
      email: 'a@example.com',
      visits: 3,
      address: { city: 'Lyon' },
      tags: ['vip'],
      attributes: { plan: 'pro', nested: { deep: [1, 'two', null] }, quote: '"</script>' },
      orders: [{ total: 12.5 }],
    };
    expect(res.json()).toEqual({ data: [expected, { ...expected, id: 'c2', email: null, visits: null, address: null }], nextCursor: null });
    expect(res.body).not.toMatch(/passwordHash|internalNote|costPrice|total":2/);
  });

  it("zod's path strips too", async () => {
    const res = await app.inject({ url: '/either' });
    expect(res.json()).toEqual({ result: { ok: false, reason: 'no' } });
  });

  it('a body that misses a required field is the contract 500, with no part of the body', async () => {
    const res = await app.inject({ url: '/broken' });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: 'internal' });
    expect(res.body).not.toContain('c1');
    expect(res.body).not.toMatch(/at .*\.ts:\d+/);
  });
});
