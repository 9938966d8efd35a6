// Writes the OpenAPI document the server serves at /api/openapi.json to docs/openapi.json (or the
// path given), so it can be linted (`npx @redocly/cli lint`) and read without a running server.
// test/openapi.test.ts fails when the committed copy is not the served document.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';

const out = process.argv[2] ?? path.join(import.meta.dirname, '..', 'docs', 'openapi.json');
const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: path.join(os.tmpdir(), 'switchboard-openapi'), LOG_LEVEL: 'silent', JOBS_IN_PROCESS: 'false' });
const db = await openDatabase({ memory: true });
const app = await buildServer({ config, db, logger: false });
await app.ready();
writeFileSync(out, `${JSON.stringify(app.swagger(), null, 2)}\n`);
await app.close();
await db.close();
console.log(`wrote ${out}`);
