import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

// `npm start` as a user runs it: a real process on the embedded database, stopped with SIGTERM.
const root = path.resolve(import.meta.dirname, '..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-process-'));
const children: ChildProcess[] = [];
afterAll(() => children.forEach((c) => c.kill('SIGKILL')));

/** A port free right now (the kernel's choice); another process may still take it before the server listens. */
function freePort() {
  return new Promise<number>((resolve, reject) => {
    const srv = net.createServer();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Starts the server on a free port; when another process took the port first (files run side by side), on another. */
async function start(opts: { logLevel?: string; readStdout?: boolean } = {}) {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return { ...(await startOn(port, opts)), port };
    } catch (err) {
      if (attempt >= 5 || !/EADDRINUSE/.test(String(err))) throw err;
    }
  }
}

async function startOn(port: number, opts: { logLevel?: string; readStdout?: boolean }) {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve'], {
    cwd: root,
    // DATABASE_URL is cleared: this test is about the zero-configuration embedded default.
    env: { ...process.env, DATABASE_URL: '', PORT: String(port), DATA_DIR: dataDir, LOG_LEVEL: opts.logLevel ?? 'warn', NODE_ENV: 'development', BILLING_PLANS: '{"free":{}}' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let output = '';
  // Without a reader the pipe fills up: the parent buffers one chunk and then stops reading.
  if (opts.readStdout !== false) child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  // Generous: a cold start (tsx, then PGlite's first boot and migrations) is slow on a busy machine.
  for (const until = Date.now() + 150_000; Date.now() < until && exitCode === undefined; ) {
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
    const first = await start();
    let port = first.port;
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

    const second = await start();
    port = second.port;
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
  }, 400_000);

  it('exits within the drain deadline after SIGTERM when its stdout reader stalled and then went away', async () => {
    const server = await start({ logLevel: 'trace', readStdout: false });
    const port = server.port;
    // Every request logs its URL twice at trace level: ~8 MB of log lines, far beyond the pipe's buffer.
    const pad = 'x'.repeat(4000);
    for (let i = 0; i < 10; i++) {
      const batch = Array.from({ length: 100 }, (_, j) => fetch(`http://127.0.0.1:${port}/api/health?pad=${pad}&n=${i * 100 + j}`).then((r) => r.text()));
      await Promise.all(batch);
    }
    const started = Date.now();
    server.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 300));
    server.child.stdout!.destroy(); // the reader goes away: further writes meet EPIPE
    const code = await Promise.race([server.exited, new Promise<'running'>((r) => setTimeout(() => r('running'), 17_000))]);
    expect(code, 'still running 17 s after SIGTERM').not.toBe('running');
    // It stopped on its own (not killed by the watchdog), dropping what it could not write.
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5_000);
  }, 240_000);

  it('is killed at the deadline by the watchdog thread when its main thread is stuck', async () => {
    const script = `import { startWatchdog } from './src/lib/watchdog.ts';
      const dog = startWatchdog();
      setTimeout(() => { dog.arm(500); for (;;) {} }, 50);`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, stdio: 'ignore' });
    children.push(child);
    const started = Date.now();
    const signal = await new Promise((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
    expect(signal).toBe('SIGKILL');
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});
