/**
 * Strict JSON in, Python-compatible JSON out.
 *
 * `parseStrict` accepts exactly RFC 8259 JSON texts whose numbers are finite IEEE 754 doubles
 * (`JSON.parse` already rejects `NaN`/`Infinity`; a literal such as `1e400` that overflows to
 * infinity is rejected here, OE-GEN-012/013), and so is an object with a duplicate member name
 * (OE-GEN-014 recommends rejecting it; escapes are decoded before names are compared).
 *
 * `encodeJson` writes compact JSON exactly as the Python reference runtime (orjson) does, so that
 * frames are byte-identical across the two implementations: integers print as integers, every
 * non-integral number and every `PyFloat` prints like orjson prints a Python `float` (`1.0`, `-0.0`,
 * `0.09`, `1e-6`, `2.5e+16`), `bigint` prints as an exact integer, strings as `JSON.stringify` does.
 * Non-finite numbers throw `RangeError` (a reply must never carry them).
 */

/** A JSON value as produced by `JSON.parse`. */
export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  [key: string]: JsonValue;
}

/** A number that Python holds as `float`: `1` encodes as `1.0`. */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

/**
 * A value `encodeJson` can write: JSON values plus `bigint`, `PyFloat` and `undefined` members
 * (skipped). Objects are typed loosely (`object`) so that generated interfaces fit; `encodeJson`
 * rejects anything else at run time with `TypeError`.
 */
export type Encodable = null | undefined | boolean | number | bigint | string | PyFloat | object;

/** The text was not a JSON text this protocol accepts. */
export class JsonSyntaxError extends Error {}

/** Parse one JSON text strictly; throws `JsonSyntaxError`. */
export function parseStrict(text: string): JsonValue {
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (error) {
    const reason = error instanceof RangeError ? "nested too deeply" : (error as Error).message;
    throw new JsonSyntaxError(reason);
  }
  if (!allFinite(value)) {
    throw new JsonSyntaxError("a number is outside the range of a finite IEEE 754 double");
  }
  const duplicate = duplicateMember(text);
  if (duplicate !== null) throw new JsonSyntaxError(`duplicate member name ${JSON.stringify(duplicate)}`);
  return value;
}

/**
 * The first member name that occurs twice in one object of `text`, or null. `text` must already
 * be known to be valid JSON (so only strings, brackets, braces and commas need tracking).
 */
export function duplicateMember(text: string): string | null {
  const objects: (Set<string> | null)[] = []; // null marks an array
  let expectName = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 0x22) {
      let end = i + 1;
      let escaped = false;
      while (text.charCodeAt(end) !== 0x22) {
        if (text.charCodeAt(end) === 0x5c) {
          escaped = true;
          end++;
        }
        end++;
      }
      if (expectName) {
        const name = escaped ? (JSON.parse(text.slice(i, end + 1)) as string) : text.slice(i + 1, end);
        const names = objects[objects.length - 1] as Set<string>;
        if (names.has(name)) return name;
        names.add(name);
        expectName = false;
      }
      i = end;
    } else if (ch === 0x7b) {
      objects.push(new Set());
      expectName = true;
    } else if (ch === 0x5b) {
      objects.push(null);
      expectName = false;
    } else if (ch === 0x7d || ch === 0x5d) {
      objects.pop();
      expectName = false;
    } else if (ch === 0x2c) {
      expectName = objects[objects.length - 1] instanceof Set;
    }
  }
  return null;
}

function allFinite(root: JsonValue): boolean {
  const stack: JsonValue[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (typeof value === "number") {
      if (!Number.isFinite(value)) return false;
    } else if (Array.isArray(value)) {
      for (const item of value) stack.push(item);
    } else if (value !== null && typeof value === "object") {
      for (const key in value) stack.push(value[key] as JsonValue);
    }
  }
  return true;
}

/** Whether `value` is a JSON object (not an array, not null). */
export function isObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Format a finite double the way orjson formats a Python float. */
export function formatPyFloat(x: number): string {
  if (!Number.isFinite(x)) throw new RangeError(`non-finite number ${x} cannot be sent as JSON`);
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const magnitude = Math.abs(x);
  if (magnitude < 1e-5 || magnitude >= 1e16) return x.toExponential();
  const text = String(x);
  return Number.isInteger(x) ? `${text}.0` : text;
}

function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return Object.is(x, -0) ? "0" : String(x);
  return formatPyFloat(x);
}

/** Encode `value` as compact JSON text (see the module contract). `undefined` members are skipped. */
export function encodeJson(value: Encodable): string {
  const parts: string[] = [];
  write(value, parts);
  return parts.join("");
}

function write(value: Encodable, out: string[]): void {
  if (value === null || value === undefined) {
    out.push("null");
  } else if (typeof value === "string") {
    out.push(JSON.stringify(value));
  } else if (typeof value === "number") {
    out.push(formatNumber(value));
  } else if (typeof value === "boolean") {
    out.push(value ? "true" : "false");
  } else if (typeof value === "bigint") {
    out.push(value.toString());
  } else if (value instanceof PyFloat) {
    out.push(formatPyFloat(value.value));
  } else if (Array.isArray(value)) {
    out.push("[");
    value.forEach((item: Encodable, index: number) => {
      if (index > 0) out.push(",");
      write(item === undefined ? null : item, out);
    });
    out.push("]");
  } else if (typeof value !== "object") {
    throw new TypeError(`cannot encode a ${typeof value} as JSON`);
  } else {
    out.push("{");
    let first = true;
    for (const [key, item] of Object.entries(value as { [key: string]: Encodable })) {
      if (item === undefined) continue;
      if (!first) out.push(",");
      first = false;
      out.push(JSON.stringify(key), ":");
      write(item, out);
    }
    out.push("}");
  }
}

/** `value` itself when its JSON text is at most `maxChars` long, else `undefined` (for echoes). */
export function boundedEcho(value: unknown, maxChars = 2048): JsonValue | undefined {
  try {
    const text = JSON.stringify(value);
    return text !== undefined && text.length <= maxChars ? (value as JsonValue) : undefined;
  } catch {
    return undefined;
  }
}
