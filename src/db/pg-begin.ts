import pg from 'pg';

/** A statement sent ahead of a query in the same write (BEGIN, the scope): its text and bound parameters. */
export interface Statement {
  text: string;
  values: string[];
  /**
   * A name makes it a prepared statement, parsed and planned once per connection (the scope: its text never
   * changes). Only for statements whose text is fixed, so a connection holds a bounded few.
   */
  name?: string;
}

type Callback = (err: Error | null, result?: pg.QueryResult) => void;
type ProtocolConnection = {
  parse(m: { text: string; name: string; types: number[] }): void;
  close(m: { type: 'S'; name: string }): void;
  bind(m: { portal: string; statement: string; values: string[] }): void;
  execute(m: { portal: string; rows: number }): void;
};
const BaseQuery = (pg as unknown as { Query: new (config: object, values?: unknown, callback?: Callback) => any }).Query;

/** The named statements parsed on each connection. */
const preparedOn = new WeakMap<ProtocolConnection, Set<string>>();

/**
 * A transaction's first query with BEGIN and the scope written ahead of it, so the three cost one round
 * trip. The extended protocol lets a client send several Parse/Bind/Execute before one Sync, and the server
 * runs them in order: BEGIN opens the transaction the rest of the request continues, the scope's
 * set_config(…, true) calls take bound parameters (no SQL is written from values), then the query. Their
 * results are read and dropped. An error in any of them fails this query (the server skips to the Sync),
 * and the caller rolls back as after any failed statement; the query itself never runs unscoped. A read-only
 * scope (scopedReader below) writes only the scope ahead of each query, without BEGIN. A named prefix
 * statement is parsed on a connection's first use and then only bound.
 */
class PrefixedQuery extends BaseQuery {
  private pending: number;

  constructor(
    /** Public for statement recorders (bench/customers.ts). */
    readonly prefix: Statement[],
    config: object,
    values: unknown,
    callback: Callback,
  ) {
    super(config, values, callback);
    this.pending = prefix.length;
  }

  /** Always the extended protocol (a query without parameters would otherwise go as a simple query). */
  requiresPreparation() {
    return true;
  }

  prepare(connection: ProtocolConnection) {
    for (const p of this.prefix) {
      const name = p.name ?? '';
      if (name) {
        let parsed = preparedOn.get(connection);
        if (!parsed) preparedOn.set(connection, (parsed = new Set()));
        if (!parsed.has(name)) {
          // Close first (not an error when there is none): after a failure it may or may not exist.
          connection.close({ type: 'S', name });
          connection.parse({ text: p.text, name, types: [] });
          parsed.add(name);
        }
      } else connection.parse({ text: p.text, name: '', types: [] });
      connection.bind({ portal: '', statement: name, values: p.values });
      connection.execute({ portal: '', rows: 0 });
    }
    super.prepare(connection);
  }

  /** After any error the named statements are parsed again (behind a Close) next time: whether they exist is not known. */
  handleError(err: unknown, connection: ProtocolConnection) {
    preparedOn.get(connection)?.clear();
    super.handleError(err, connection);
  }

  handleRowDescription(msg: unknown) {
    if (!this.pending) super.handleRowDescription(msg);
  }

  handleDataRow(msg: unknown) {
    if (!this.pending) super.handleDataRow(msg);
  }

  handleCommandComplete(msg: unknown, connection: unknown) {
    if (this.pending) this.pending--;
    else super.handleCommandComplete(msg, connection);
  }
}

/** The original `query` of a pooled client, resolved at each call so that whatever wraps pg's Client.prototype.query (a statement recorder) still sees every query. */
const originalQuery = (client: pg.PoolClient) => (...args: unknown[]) => (Object.getPrototypeOf(client).query as (...a: unknown[]) => unknown).apply(client, args);

/**
 * Sends one query with `prefix` written ahead of it in the same write; the promise form only (Drizzle's),
 * anything else (a callback, a submittable) is refused rather than sent without its prefix.
 */
function sendPrefixed(send: (...args: unknown[]) => unknown, prefix: Statement[], config: unknown, values?: unknown, callback?: unknown) {
  if (typeof values === 'function' || typeof callback === 'function' || typeof (config as { submit?: unknown })?.submit === 'function') {
    return Promise.reject(new Error('A scoped statement is sent in the promise form'));
  }
  // A copy: Drizzle reuses its query config objects, and pg writes the values and callback onto the one it is given.
  const own = typeof config === 'string' ? { text: config } : { ...(config as object) };
  return new Promise((resolve, reject) => {
    send(new PrefixedQuery(prefix, own, values, (err, result) => (err ? reject(err) : resolve(result))));
  });
}

const pendingPrefix = new WeakMap<pg.PoolClient, Statement[]>();
const wrapped = new WeakSet<pg.PoolClient>();

/**
 * Opens a transaction lazily on a pooled client: `prefix` (BEGIN and the scope) goes out with the first
 * query the transaction sends, in the same write. Returns whether it was sent, for COMMIT or ROLLBACK.
 * Only the promise form Drizzle uses — `client.query(config | text, values)` — is pipelined; anything else
 * (a callback, a submittable) is refused inside such a transaction rather than sent unscoped.
 */
export function beginWithFirstQuery(client: pg.PoolClient, prefix: Statement[]) {
  if (!wrapped.has(client)) {
    wrapped.add(client);
    const original = originalQuery(client);
    (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, values?: unknown, callback?: unknown) => {
      const head = pendingPrefix.get(client);
      if (!head) return original(config, values, callback);
      pendingPrefix.delete(client);
      return sendPrefixed(original, head, config, values, callback);
    };
  }
  pendingPrefix.set(client, prefix);
  return { sent: () => !pendingPrefix.has(client), cancel: () => pendingPrefix.delete(client) };
}

/**
 * A client for read-only scopes without BEGIN or COMMIT: every query goes out with `prefix` (the scope,
 * read-only) ahead of it and ends at its own Sync. The extended protocol runs the messages up to a Sync as
 * one implicit transaction, so the scope's set_config(…, true) holds for exactly that query and is gone
 * before the connection's next use; a read costs one round trip, and no statement of the scope can run
 * without it. In READ COMMITTED each statement reads its own snapshot inside a transaction as well, so a
 * handler that reads sees what it would have seen in one. After `end()` the client refuses every query:
 * a read left running past its scope fails rather than running as the pool's login role.
 */
export function scopedReader(client: pg.PoolClient) {
  const send = originalQuery(client);
  let prefix: Statement[] | null = null;
  return {
    client: {
      query(config: unknown, values?: unknown, callback?: unknown) {
        if (!prefix) return Promise.reject(new Error('This read scope has ended; a statement cannot run outside it'));
        return sendPrefixed(send, prefix, config, values, callback);
      },
    },
    open(scope: Statement[]) {
      prefix = scope;
    },
    end() {
      prefix = null;
    },
  };
}
