import { loadConfig, ConfigError } from './config.js';
import { openDatabase } from './db/index.js';
import { buildServer } from './http/server.js';
import { seedDemo } from './seed.js';
import { migrate } from './db/migrate.js';

async function open(config: ReturnType<typeof loadConfig>, opts: { migrate: boolean }) {
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: `${config.dataDir}/pglite`, poolSize: config.databasePoolSize, migrate: opts.migrate });
}

async function serve() {
  const config = loadConfig();
  const db = await open(config, { migrate: true });
  const app = await buildServer({ config, db });
  let closing = false;
  const shutdown = async (signal: string) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: draining in-flight requests');
    const force = setTimeout(() => process.exit(1), 15_000).unref();
    try {
      await app.close();
      await db.close();
      clearTimeout(force);
      process.exit(0);
    } catch (err) {
      app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  await app.listen({ host: config.host, port: config.port });
  app.log.info(`Switchboard on ${config.publicUrl} (database: ${db.kind}${db.kind === 'pglite' ? ` in ${config.dataDir}/pglite` : ''}); API reference at /api/docs`);
}

/** Job workers on their own (scale-out): `npm run worker`; run the servers with JOBS_IN_PROCESS=false. */
async function worker() {
  const config = loadConfig();
  const db = await open(config, { migrate: true });
  const { createJobRunner } = await import('./jobs/index.js');
  const log = { info: (o: unknown, m?: string) => console.log(m ?? '', o), error: (o: unknown, m?: string) => console.error(m ?? '', o) };
  const runner = createJobRunner({ db, config, log }).start();
  console.log(`Switchboard worker running (database: ${db.kind})`);
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(1), 60_000).unref();
    await runner.stop();
    await db.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown());
  process.on('SIGINT', () => void shutdown());
}

async function main() {
  const command = process.argv[2] ?? 'serve';
  switch (command) {
    case 'serve':
      return serve();
    case 'worker':
      return worker();
    case 'migrate': {
      const config = loadConfig();
      const db = await open(config, { migrate: false });
      const applied = await migrate(db.owner);
      console.log(applied.length ? `Applied ${applied.join(', ')}` : 'Database is up to date');
      return db.close();
    }
    case 'seed-demo': {
      const config = loadConfig();
      const db = await open(config, { migrate: true });
      const out = await seedDemo(db);
      console.log(out);
      return db.close();
    }
    default:
      console.error(`Unknown command "${command}". Commands: serve, worker, migrate, seed-demo`);
      process.exit(2);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
