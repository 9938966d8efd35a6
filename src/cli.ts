import { loadConfig, ConfigError } from './config.js';
import { openDatabase } from './db/index.js';
import { buildServer } from './http/server.js';
import { seedDemo } from './seed.js';
import { migrate } from './db/migrate.js';

async function open(config: ReturnType<typeof loadConfig>, opts: { migrate: boolean }) {
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: `${config.dataDir}/pglite`, poolSize: config.databasePoolSize, migrate: opts.migrate });
}

/** Runs stop once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it failed or outlasted forceMs. */
function stopOnSignals(stop: (signal: string) => Promise<void>, forceMs: number, onError: (err: unknown) => void) {
  let stopping = false;
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    setTimeout(() => process.exit(1), forceMs).unref();
    stop(signal).then(
      () => process.exit(0),
      (err) => {
        onError(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}

async function serve() {
  const config = loadConfig();
  const db = await open(config, { migrate: true });
  const app = await buildServer({ config, db });
  stopOnSignals(
    async (signal) => {
      app.log.info({ signal }, 'shutting down: draining in-flight requests');
      await app.close();
      await db.close();
    },
    15_000,
    (err) => app.log.error({ err }, 'shutdown failed'),
  );
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
  stopOnSignals(
    async () => {
      await runner.stop();
      await db.close();
    },
    60_000,
    (err) => console.error('worker shutdown failed', err),
  );
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
