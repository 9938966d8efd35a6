import fastJson from 'fast-json-stringify';
import type { FastifySerializerCompiler } from 'fastify/types/schema.js';
import { serializerCompiler as zodSerializerCompiler } from 'fastify-type-provider-zod';
import { z } from 'zod';

// Response serialization. Every response schema is a zod schema; what a client receives never holds a
// field the schema does not name. A schema that is plain JSON data (objects with named properties,
// arrays, strings, numbers, booleans, nulls, enums, free-form records) is compiled once into a
// fast-json-stringify function, generated code that writes only the named properties: on a 50-row
// list page zod's walk of every value and the JSON.stringify after it cost a tenth of the request's
// CPU. Anything else (unions, recursion, codecs, defaults) keeps zod's encode, which also checks.

/** The JSON Schema keywords the fast path understands; a schema using any other keeps zod's encoder. */
const PLAIN_KEYWORDS = new Set([
  '$schema', 'type', 'properties', 'required', 'additionalProperties', 'items', 'enum', 'const',
  'format', 'pattern', 'minLength', 'maxLength', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum',
  'minItems', 'maxItems', 'propertyNames', 'description', 'title', 'examples',
]);

/**
 * True when the JSON Schema describes plain JSON data the fast path writes exactly as zod would: every
 * object lists its properties and allows no others, or is a free-form record of anything (`{}` values,
 * written as JSON.stringify would); at most one non-null type per node.
 */
function isPlain(node: unknown): boolean {
  if (!node || typeof node !== 'object' || Array.isArray(node)) return false;
  const schema = node as Record<string, unknown>;
  if (Object.keys(schema).length === 0) return true; // unknown / any: JSON.stringify
  for (const key of Object.keys(schema)) if (!PLAIN_KEYWORDS.has(key)) return false;
  const types = schema.type === undefined ? [] : Array.isArray(schema.type) ? schema.type : [schema.type];
  if (types.length === 0 && schema.enum === undefined && schema.const === undefined) return false;
  if (types.filter((t) => t !== 'null').length > 1) return false;
  if (types.includes('object')) {
    const extra = schema.additionalProperties;
    if (schema.properties !== undefined) {
      // A named object: exactly its properties (zod strips the rest; so does the generated code).
      if (extra !== false) return false;
      if (!Object.values(schema.properties as Record<string, unknown>).every(isPlain)) return false;
    } else if (!(extra && typeof extra === 'object' && Object.keys(extra).length === 0)) {
      // A record: only records of anything, whose values JSON.stringify writes as they are.
      return false;
    }
  }
  if (types.includes('array') && !isPlain(schema.items)) return false;
  return true;
}

/**
 * zod writes a nullable number or object as `anyOf: [X, {type: 'null'}]`; the same is X with `null`
 * among its types, which the generated code checks with one comparison instead of trying each branch.
 */
function nullableAsTypes(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(nullableAsTypes);
  if (!node || typeof node !== 'object') return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = k === 'enum' || k === 'const' ? v : nullableAsTypes(v);
  const branches = out.anyOf;
  if (Array.isArray(branches) && branches.length === 2 && Object.keys(out).length === 1) {
    const nullAt = branches.findIndex((b) => b && typeof b === 'object' && Object.keys(b).length === 1 && (b as { type?: unknown }).type === 'null');
    const other = branches[1 - nullAt] as Record<string, unknown> | undefined;
    if (nullAt >= 0 && other && typeof other.type === 'string' && other.enum === undefined && other.const === undefined) {
      return { ...other, type: [other.type, 'null'] };
    }
  }
  return out;
}

/** The fast-json-stringify function for a zod schema, or null when it must keep zod's encoder. */
export function fastSerializer(schema: z.ZodType): ((data: unknown) => string) | null {
  let json: unknown;
  try {
    json = z.toJSONSchema(schema, { io: 'output', target: 'draft-07', unrepresentable: 'throw', cycles: 'throw', reused: 'inline' });
  } catch {
    return null;
  }
  json = nullableAsTypes(json);
  if (!isPlain(json)) return null;
  const stringify = fastJson(json as Parameters<typeof fastJson>[0]);
  return (data) => stringify(data);
}

/** Fastify's serializer compiler: the fast path where the schema allows it, zod's encoder elsewhere. */
export const serializerCompiler: FastifySerializerCompiler<z.ZodType> = (route) => {
  const fast = route.schema instanceof z.ZodType ? fastSerializer(route.schema) : null;
  return fast ?? zodSerializerCompiler(route as Parameters<typeof zodSerializerCompiler>[0]);
};
