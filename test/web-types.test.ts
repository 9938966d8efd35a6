import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { expect, it } from 'vitest';

// The dashboard's API types are generated from docs/openapi.json (npm run openapi writes both), so a
// route change that breaks the dashboard fails its type check instead of a page at run time.
it('web/src/api/schema.d.ts is generated from the committed OpenAPI document', () => {
  const script = path.join(import.meta.dirname, '..', 'scripts', 'web-types.mjs');
  let out = '';
  try {
    execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    out = String((err as { stderr?: string }).stderr ?? err);
  }
  expect(out).toBe('');
});
