// IVR flows over HTTP: validation with paths, versions on edit, roles, and two organizations.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_FLOW } from '../src/modules/ivr/flow.js';
import { addMember, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'ivr-a');
  b = await signUpWithOrg(t.app, 'ivr-b');
});
afterAll(() => t?.close());

const url = '/api/ivr/flows';
const simple = (text: string) => ({ start: 'hello', nodes: { hello: { kind: 'say', text, next: 'bye' }, bye: { kind: 'hangup' } } });

async function createFlow(actor: Actor, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url, headers: actor.headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`create flow failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

describe('IVR flows', () => {
  it('creates a flow at version 1 with its definition (defaults filled) and no bound numbers', async () => {
    const f = await createFlow(a, { name: 'Main line', definition: EXAMPLE_FLOW });
    expect(f).toMatchObject({ name: 'Main line', active: true, version: 1, phoneNumbers: [] });
    expect(f.definition.nodes.main).toMatchObject({ kind: 'menu', retries: 2, timeout: 'message' });
    expect(f.definition.nodes.bye).toEqual({ kind: 'hangup', text: 'Goodbye.' });
    const got = await t.app.inject({ url: `${url}/${f.id}`, headers: a.headers });
    expect(got.json()).toEqual(f);
  });

  it('answers 400 with the path of each graph problem, and saves nothing', async () => {
    const before = (await t.app.inject({ url, headers: a.headers })).json().data.length;
    const res = await t.app.inject({
      method: 'POST',
      url,
      headers: a.headers,
      payload: {
        name: 'Broken',
        definition: {
          start: 'menu',
          nodes: {
            menu: { kind: 'menu', prompt: { say: 'Press 1' }, options: { '1': 'ghost', '2': 'a' } },
            a: { kind: 'say', text: 'A', next: 'b' },
            b: { kind: 'say', text: 'B', next: 'a' },
            lost: { kind: 'hangup' },
          },
        },
      },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed', details: [{ in: 'body', path: 'definition.nodes.menu.options.1', message: 'Node "ghost" does not exist' }] });
    // With the reference fixed, the other rules speak.
    const again = await t.app.inject({
      method: 'POST',
      url,
      headers: a.headers,
      payload: {
        name: 'Broken',
        definition: {
          start: 'menu',
          nodes: {
            menu: { kind: 'menu', prompt: { say: 'Press 1' }, options: { '2': 'a' } },
            a: { kind: 'say', text: 'A', next: 'b' },
            b: { kind: 'say', text: 'B', next: 'a' },
            lost: { kind: 'hangup' },
          },
        },
      },
    });
    expect(again.statusCode).toBe(400);
    const paths = again.json().details.map((d: any) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['definition.nodes.lost']));
    expect(again.json().details.some((d: any) => /Loop without input/.test(d.message))).toBe(true);
    // Shape problems come from the schema, with their path too.
    const shape = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'x', definition: { start: 'd', nodes: { d: { kind: 'dial', number: 'call me' } } } } });
    expect(shape.statusCode).toBe(400);
    expect(shape.json().details[0].path).toBe('definition.nodes.d.number');
    // A dial node naming someone who is not a member.
    const agent = await t.app.inject({
      method: 'POST',
      url,
      headers: a.headers,
      payload: { name: 'x', definition: { start: 'd', nodes: { d: { kind: 'dial', agentUserId: b.userId } } } },
    });
    expect(agent.statusCode).toBe(400);
    expect(agent.json().details).toEqual([{ in: 'body', path: 'definition.nodes.d.agentUserId', message: expect.any(String) }]);
    expect((await t.app.inject({ url, headers: a.headers })).json().data.length).toBe(before);
  });

  it('an edited definition becomes a new version; the old ones stay listed; a rename alone does not', async () => {
    const f = await createFlow(a, { name: 'Versions', definition: simple('Version one') });
    const put = await t.app.inject({ method: 'PUT', url: `${url}/${f.id}`, headers: a.headers, payload: { name: 'Versions', definition: simple('Version two') } });
    expect(put.statusCode).toBe(200);
    expect(put.json()).toMatchObject({ version: 2, definition: { nodes: { hello: { text: 'Version two' } } } });
    const rename = await t.app.inject({ method: 'PATCH', url: `${url}/${f.id}`, headers: a.headers, payload: { name: 'Renamed', definition: simple('Version two') } });
    expect(rename.json()).toMatchObject({ name: 'Renamed', version: 2 });
    const patch = await t.app.inject({ method: 'PATCH', url: `${url}/${f.id}`, headers: a.headers, payload: { definition: simple('Version three') } });
    expect(patch.json()).toMatchObject({ name: 'Renamed', version: 3 });
    const bad = await t.app.inject({ method: 'PATCH', url: `${url}/${f.id}`, headers: a.headers, payload: { definition: { start: 'x', nodes: { y: { kind: 'hangup' } } } } });
    expect(bad.statusCode).toBe(400);

    const versions = (await t.app.inject({ url: `${url}/${f.id}/versions?limit=2`, headers: a.headers })).json();
    expect(versions.data.map((v: any) => [v.version, v.current, v.definition.nodes.hello.text])).toEqual([[3, true, 'Version three'], [2, false, 'Version two']]);
    const rest = (await t.app.inject({ url: `${url}/${f.id}/versions?limit=2&cursor=${versions.nextCursor}`, headers: a.headers })).json();
    expect(rest).toMatchObject({ data: [{ version: 1, current: false }], nextCursor: null });
    expect((await t.app.inject({ url: `${url}/${f.id}/versions?cursor=garbage`, headers: a.headers })).statusCode).toBe(400);
  });

  it('members read flows; changing them takes an admin', async () => {
    const member = await addMember(t.app, a, 'member', 'ivr-member');
    const f = await createFlow(a, { name: 'Roles', definition: simple('Hi') });
    expect((await t.app.inject({ url: `${url}/${f.id}`, headers: member.headers })).statusCode).toBe(200);
    for (const [method, path, payload] of [
      ['POST', url, { name: 'no', definition: simple('no') }],
      ['PATCH', `${url}/${f.id}`, { name: 'no' }],
      ['DELETE', `${url}/${f.id}`, undefined],
    ] as const) {
      const res = await t.app.inject({ method, url: path, headers: member.headers, ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${path}`).toBe(403);
    }
  });

  it("A's flow is 404 for B on every route, and B's edits leave it unchanged", async () => {
    const f = await createFlow(a, { name: 'Private', definition: simple('A only') });
    for (const [method, path, payload] of [
      ['GET', `${url}/${f.id}`, undefined],
      ['GET', `${url}/${f.id}/versions`, undefined],
      ['PUT', `${url}/${f.id}`, { name: 'Taken', definition: simple('B was here') }],
      ['PATCH', `${url}/${f.id}`, { name: 'Taken' }],
      ['DELETE', `${url}/${f.id}`, undefined],
    ] as const) {
      const res = await t.app.inject({ method, url: path, headers: b.headers, ...(payload && { payload }) });
      expect(res.statusCode, `${method} ${path}`).toBe(404);
    }
    expect((await t.app.inject({ url, headers: b.headers })).json().data.find((x: any) => x.id === f.id)).toBeUndefined();
    expect((await t.app.inject({ url: `${url}/${f.id}`, headers: a.headers })).json()).toMatchObject({ name: 'Private', version: 1 });
  });

  it('deletes a flow with its versions', async () => {
    const f = await createFlow(a, { name: 'Gone', definition: simple('Bye') });
    expect((await t.app.inject({ method: 'DELETE', url: `${url}/${f.id}`, headers: a.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `${url}/${f.id}`, headers: a.headers })).statusCode).toBe(404);
    const left = await t.db.owner.query(`SELECT 1 FROM ivr_flow_versions WHERE flow_id = $1`, [f.id]);
    expect(left).toHaveLength(0);
  });
});
