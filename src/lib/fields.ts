/**
 * The column values of a PUT or PATCH body. PUT (`replace`) resets every field the body omits to
 * its default; PATCH changes only the fields the body gives. `defaults` names the writable fields.
 */
export function writableFields<D extends Record<string, unknown>>(input: { [K in keyof D]?: unknown }, defaults: D, replace: boolean): Partial<D> {
  const out: Partial<D> = {};
  for (const key of Object.keys(defaults) as (keyof D)[]) {
    if (input[key] !== undefined) out[key] = input[key] as D[keyof D];
    else if (replace) out[key] = defaults[key];
  }
  return out;
}
