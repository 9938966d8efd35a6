import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it: a real process on the embedded database, stopped with SIGTERM.
const root = path.resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-process-'));
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

async function start(port: number) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: root,
    // DATABASE_URL is cleared: this test is about the zero-configuration embedded default.
    env: { ...process.env, DATABASE_URL: '', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: 'warn', NODE_ENV: 'development' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  for (let i = 0; i < 120 && exitCode === undefined; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/api/health`);
      if (res.ok) return { child, exited, output: () => output };
    } catch {}
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`server did not start: ${output}`);
}

/** Sends a CSV import in two halves with a pause between, so the request is in flight when SIGTERM arrives. */
function slowImport(port: number, cookie: string, rows: number, onFirstHalf: () => void) {
  const lines = ['email,first_name'];
  for (let i = 0; i < rows; i++) lines.push(`slow${i}@example.com,Row ${i}`);
  const body = Buffer.from(lines.join('\n'));
  return new Promise<{ status: number; body: any }>((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/api/customers/import', method: 'POST', headers: { cookie, 'content-type': 'text/csv', 'content-length': body.length } },
      (res) => {
        let data = '';
        res.on('data', (d) => (data += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(data) }));
      },
    );
    req.on('error', reject);
    const half = body.indexOf('\n', body.length >> 1) + 1;
    // The pause lets the server start handling the request before the signal: a request that
    // arrives after shutdown began is rightly answered 503, which is not what this test is about.
    req.write(body.subarray(0, half), () => {
      setTimeout(onFirstHalf, 400);
      setTimeout(() => req.end(body.subarray(half)), 1200);
    });
  });
}

describe('the server process', () => {
  it('starts with zero configuration, drains in-flight requests on SIGTERM, and keeps its data', async () => {
    const port = 20000 + Math.floor(Math.random() * 20000);
    const first = await start(port);
    const signUp = await fetch(`http://127.0.0.1:${port}/api/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: 'correct horse battery', name: 'Ops', organizationName: 'Ops Inc' }),
    });
    expect(signUp.status).toBe(201);
    const cookie = signUp.headers.get('set-cookie')!.split(';')[0];

    const result = await slowImport(port, cookie, 5000, () => first.child.kill('SIGTERM'));
    expect(result.status).toBe(200);
    expect(result.body.created).toBe(5000);
    expect(await first.exited).toBe(0);

    const second = await start(port);
    const signIn = await fetch(`http://127.0.0.1:${port}/api/auth/sign-in`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'ops@example.com', password: 'correct horse battery' }),
    });
    expect(signIn.status).toBe(200);
    const session = signIn.headers.get('set-cookie')!.split(';')[0];
    const org = await (await fetch(`http://127.0.0.1:${port}/api/organizations/current`, { headers: { cookie: session } })).json();
    expect(org.usage.customers).toBe(5000);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });
});
