import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The platform layers (http, jobs, db, lib, channels) reach a feature module only through the
// module list (modules/index.ts), the Module interface, or a module's own index.ts — never its
// internals. That is what keeps adding a channel to "its folder plus one registration line".
const root = path.resolve(import.meta.dirname, '../src');
const PLATFORM = ['http', 'jobs', 'db', 'lib', 'channels'];
const ALLOWED = /^modules\/(index|module|[\w-]+\/index)\.js$/;

function files(dir: string): string[] {
  let out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(files(p));
    else if (p.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('layering', () => {
  it('platform code imports no module internals', () => {
    const offending: string[] = [];
    for (const layer of PLATFORM) {
      let list: string[] = [];
      try {
        list = files(path.join(root, layer));
      } catch {
        continue;
      }
      for (const file of list) {
        for (const m of readFileSync(file, 'utf8').matchAll(/(?:from|import\()\s*'([^']+)'/g)) {
          if (!m[1].startsWith('.')) continue;
          const target = path.relative(root, path.resolve(path.dirname(file), m[1]));
          if (target.startsWith('modules/') && !ALLOWED.test(target)) offending.push(`${path.relative(root, file)} → ${target}`);
        }
      }
    }
    expect(offending).toEqual([]);
  });

  it('the rule sees an offending import (the check itself can fail)', () => {
    expect(ALLOWED.test('modules/email/sender.js')).toBe(false);
    expect(ALLOWED.test('modules/email/index.js')).toBe(true);
  });
});
