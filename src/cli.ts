import { pino } from 'pino';
import { loadConfig, ConfigError } from './config.js';
import { openDatabase } from './db/index.js';
import { buildServer } from './http/server.js';
import { createLogDestination, type LogDestination } from './lib/log-destination.js';
import { startWatchdog } from './lib/watchdog.js';
import { seedDemo } from './seed.js';
import { migrate } from './db/migrate.js';

async function open(config: ReturnType<typeof loadConfig>, opts: { migrate: boolean }) {
  return openDatabase({ databaseUrl: config.databaseUrl, dataDir: `${config.dataDir}/pglite`, poolSize: config.databasePoolSize, preparedScope: config.databasePreparedScope, migrate: opts.migrate });
}

/** How long a stop may take in all, however it goes: a supervisor can count on the process being gone by then. */
const SERVE_DEADLINE_MS = 15_000;
const WORKER_DEADLINE_MS = 60_000;
/** The last part of the deadline, kept for writing out buffered log lines. */
const LOG_FLUSH_MS = 1_000;

/**
 * Runs stop once on SIGTERM or SIGINT, then exits: 0 when it finished, 1 when it failed or ran out of
 * time. Three layers: stop itself; a timer that exits when the graceful part of the deadline is spent;
 * and a watchdog thread that kills the process at the deadline even if the main thread is stuck.
 */
function stopOnSignals(stop: (signal: string) => Promise<void>, deadlineMs: number, logs: LogDestination, onError: (err: unknown) => void) {
  const watchdog = startWatchdog();
  let stopping = false;
  // Log lines are written out within a bounded time and otherwise dropped: never a synchronous flush at exit.
  const exit = (code: number) => void logs.flush(LOG_FLUSH_MS).then(() => process.exit(code));
  const handle = (signal: string) => {
    if (stopping) return;
    stopping = true;
    watchdog.arm(deadlineMs);
    setTimeout(() => {
      onError(new Error(`stop did not finish within ${deadlineMs - 2 * LOG_FLUSH_MS} ms`));
      exit(1);
    }, deadlineMs - 2 * LOG_FLUSH_MS).unref();
    stop(signal).then(
      () => exit(0),
      (err) => {
        onError(err);
        exit(1);
      },
    );
  };
  process.on('SIGTERM', () => handle('SIGTERM'));
  process.on('SIGINT', () => handle('SIGINT'));
}

async function serve() {
  const config = loadConfig();
  const db = await open(config, { migrate: true });
  const logs = createLogDestination();
  const app = await buildServer({ config, db, logStream: logs });
  stopOnSignals(
    async (signal) => {
      app.log.info({ signal }, 'shutting down: draining in-flight requests');
      await app.close();
      await db.close();
    },
    SERVE_DEADLINE_MS,
    logs,
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
  const { modules } = await import('./modules/index.js');
  const logs = createLogDestination();
  const log = pino({ level: config.logLevel }, logs);
  const { createBus } = await import('./lib/create-bus.js');
  const bus = await createBus(config, db);
  const runner = createJobRunner({ db, config, bus, modules, log }).start();
  log.info(`Switchboard worker running (database: ${db.kind})`);
  stopOnSignals(
    async () => {
      await runner.stop();
      await bus.close();
      await db.close();
    },
    WORKER_DEADLINE_MS,
    logs,
    (err) => log.error({ err }, 'worker shutdown failed'),
  );
}

/**
 * `plan set <organization id or name> <plan>`: an operator's plan change (without Stripe, the way
 * plans are set), audited as the system actor. The organization is looked up by id, else by its
 * exact name when only one organization has it.
 */
async function plan(args: string[]) {
  const [verb, who, name] = args;
  if (verb !== 'set' || !who || !name) {
    console.error('Usage: npm run cli -- plan set <organization id or name> <plan>');
    process.exit(2);
  }
  const config = loadConfig();
  if (!config.billing.plans[name]) {
    console.error(`Unknown plan "${name}". Plans: ${Object.keys(config.billing.plans).join(', ')}`);
    process.exit(2);
  }
  const db = await open(config, { migrate: true });
  try {
    const found = await db.owner.query<{ id: string; name: string }>(
      `select id::text, name from organizations where id::text = $1 or lower(name) = lower($1) order by (id::text = $1) desc limit 2`,
      [who],
    );
    if (found.length !== 1 && !(found.length && found[0].id === who)) {
      console.error(found.length ? `More than one organization is named "${who}": use its id` : `No organization "${who}"`);
      process.exitCode = 1;
      return;
    }
    const org = found[0];
    const { setPlan } = await import('./modules/billing/index.js');
    const { systemContext } = await import('./http/access.js');
    const account = await db.withTenant(org.id, (tx) => setPlan(tx, systemContext(org.id, 'cli-plan-set'), name, config.billing.plans));
    console.log(`${org.name} (${org.id}): plan ${account.plan}, status ${account.status}`);
  } finally {
    await db.close();
  }
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
    case 'plan':
      return plan(process.argv.slice(3));
    default:
      console.error(`Unknown command "${command}". Commands: serve, worker, migrate, seed-demo, plan set`);
      process.exit(2);
  }
}

main().catch((err) => {
  console.error(err instanceof ConfigError ? err.message : err);
  process.exit(1);
});
