/**
 * A stack file's `config:` as the Pulumi CLI hands it to the program, following pulumi/pulumi
 * (sdk/go/common/workspace/loaders.go, resource/config/{key,value,object}.go) and gopkg.in/yaml.v3
 * (resolve.go, decode.go), which it decodes with. The `yaml` library parses; this module resolves
 * plain scalars, merge keys and key forms as yaml.v3 and Pulumi do, and writes each value as text.
 */
import { Document, isAlias, isMap, isScalar, isSeq, Node, Scalar } from "yaml";
import { PROJECT, RawConfig } from "../program/project";

/** A decoded value, as yaml.v3 decodes into `any`; timestamps are already Pulumi's text. */
export type Decoded = string | bigint | number | boolean | null | Decoded[] | { [key: string]: Decoded };

/** A value Pulumi cannot take, and where (the keys down to it); the caller adds the file. */
export class PulumiYamlError extends Error {
  constructor(
    readonly reason: string,
    readonly path: string[] = [],
  ) {
    super(path.length > 0 ? `${path.join(".")}: ${reason}` : reason);
  }
}

const TAG = "tag:yaml.org,2002:";
const RESOLVED: Record<string, boolean | null | number> = {
  ...Object.fromEntries(["true", "True", "TRUE"].map((s) => [s, true])),
  ...Object.fromEntries(["false", "False", "FALSE"].map((s) => [s, false])),
  ...Object.fromEntries(["", "~", "null", "Null", "NULL"].map((s) => [s, null])),
  ...Object.fromEntries([".nan", ".NaN", ".NAN"].map((s) => [s, NaN])),
  ...Object.fromEntries([".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"].map((s) => [s, Infinity])),
  ...Object.fromEntries(["-.inf", "-.Inf", "-.INF"].map((s) => [s, -Infinity])),
};
const YAML_STYLE_FLOAT = /^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/;
const INT64 = [-(2n ** 63n), 2n ** 63n - 1n] as const;
const UINT64_MAX = 2n ** 64n - 1n;

/** Go's strconv.ParseInt(s, 0, 64) digits: 0x, 0o, 0b, a leading-0 octal, or decimal. */
function goBaseZero(s: string): { negative: boolean; value: bigint } | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[oO][0-7]+|0[bB][01]+|0[0-7]*|[1-9][0-9]*)$/.exec(s);
  if (!m) return undefined;
  const digits = /^0[0-7]+$/.test(m[2]) ? `0o${m[2].slice(1)}` : m[2];
  return { negative: m[1] === "-", value: BigInt(digits) };
}

/** yaml.v3's timestamp forms (resolve.go allowedTimestampFormats), as Go's time.Time.String() writes them (object.go). */
function timestamp(s: string): string | undefined {
  const m =
    /^(\d{4})-(\d{1,2})-(\d{1,2})(?:(?:([Tt])|( ))(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})?)?$/.exec(
      s,
    );
  if (!m) return undefined;
  const [, y, mo, d, t, space, h = "0", mi = "0", sec = "0", frac = "", zone] = m;
  if ((t !== undefined && zone === undefined) || (space !== undefined && zone !== undefined)) return undefined;
  const [Y, M, D, H, N, S] = [y, mo, d, h, mi, sec].map(Number);
  const daysIn = new Date(Date.UTC(Y, M, 0)).getUTCDate();
  if (M < 1 || M > 12 || D < 1 || D > daysIn || H > 23 || N > 59 || S > 59) return undefined;
  const p2 = (n: number) => String(n).padStart(2, "0");
  const fraction = frac.slice(0, 9).replace(/0+$/, "");
  // A fixed offset prints as Go's FixedZone("", offset) does; the CLI's machine being in that zone would name it instead.
  const offset = zone === undefined || zone === "Z" ? "+0000 UTC" : `${zone.replace(":", "")} ${zone.replace(":", "")}`;
  return `${y}-${p2(M)}-${p2(D)} ${p2(H)}:${p2(N)}:${p2(S)}${fraction ? `.${fraction}` : ""} ${offset}`;
}

/** yaml.v3's resolve(): what a plain scalar's text decodes to (resolve.go). */
export function resolvePlain(text: string): Decoded {
  if (Object.hasOwn(RESOLVED, text)) {
    const v = RESOLVED[text];
    if (typeof v === "number" && !Number.isFinite(v))
      throw new PulumiYamlError(`${text} is not a JSON number, which Pulumi needs; quote it to pass text`);
    return v;
  }
  const hint = text[0];
  if (hint === ".") {
    const f = /^\.[0-9]+([eE][-+]?[0-9]+)?$/.test(text) ? Number(text) : NaN;
    return Number.isFinite(f) ? f : text;
  }
  if (!/^[-+0-9]/.test(hint)) return text;
  const ts = timestamp(text);
  if (ts !== undefined) return ts;
  const plain = text.replace(/_/g, "");
  const int = goBaseZero(plain);
  if (int !== undefined) {
    const v = int.negative ? -int.value : int.value;
    if (v >= INT64[0] && v <= INT64[1]) return v;
    if (!int.negative && !plain.startsWith("+") && v <= UINT64_MAX) return v;
  }
  if (YAML_STYLE_FLOAT.test(plain)) {
    const f = Number(plain);
    if (Number.isFinite(f)) return f;
  }
  return text;
}

const kindOf = (v: Decoded): string =>
  v === null
    ? "null"
    : typeof v === "bigint"
      ? "int"
      : typeof v === "number"
        ? "float"
        : typeof v === "boolean"
          ? "bool"
          : "str";

/** A scalar node as yaml.v3 decodes it: quoted, block and !!str scalars are text; a core tag must fit its value (decode.go). */
function scalar(node: Scalar): Decoded {
  const text = typeof node.source === "string" ? node.source : String(node.value);
  const tag = node.tag?.startsWith(TAG) ? node.tag.slice(TAG.length) : node.tag;
  const styled = node.type !== undefined && node.type !== Scalar.PLAIN;
  if (tag === "str" || ((tag === undefined || tag === "!") && styled)) return text;
  if (tag === "binary") return Buffer.from(text.replace(/\s/g, ""), "base64").toString("utf8");
  if (tag !== undefined && tag !== "!" && !["int", "float", "bool", "null", "timestamp"].includes(tag)) return text;
  const v = resolvePlain(text);
  if (tag === undefined || tag === "!" || tag === "timestamp") return v;
  if (kindOf(v) === tag) return v;
  if (tag === "float" && typeof v === "bigint") return Number(v);
  throw new PulumiYamlError(`cannot decode !!${kindOf(v)} \`${text}\` as a !!${tag}`);
}

const isMergeKey = (k: unknown): boolean =>
  isScalar(k) && k.source === "<<" && (k.type === Scalar.PLAIN || k.type === undefined) && !k.tag?.endsWith(":str");

/** yaml.v3's decoding of a node into `any`: aliases followed, merge keys applied (decode.go mapping, merge). */
export function decodeNode(doc: Document, node: unknown): Decoded {
  if (isAlias(node)) return decodeNode(doc, node.resolve(doc));
  if (isScalar(node)) return scalar(node);
  if (isSeq(node)) return node.items.map((n) => decodeNode(doc, n));
  if (isMap(node)) {
    const out: { [key: string]: Decoded } = Object.create(null) as { [key: string]: Decoded };
    const merged: Decoded[] = [];
    for (const pair of node.items) {
      if (isMergeKey(pair.key)) {
        // A literal list of maps merges each; an alias must name a map (decode.go merge).
        const sources: unknown[] = isSeq(pair.value) ? pair.value.items : [pair.value];
        for (const s of sources) {
          const v = isMap(isAlias(s) ? s.resolve(doc) : s) ? decodeNode(doc, s) : undefined;
          if (v === undefined || v === null || typeof v !== "object" || Array.isArray(v))
            throw new PulumiYamlError("map merge requires map or sequence of maps as the value");
          merged.push(v);
        }
        continue;
      }
      const key = decodeNode(doc, pair.key);
      if (typeof key !== "string")
        throw new PulumiYamlError(`expected only string keys, got '${goJson(key)}': quote the key`);
      try {
        out[key] = decodeNode(doc, pair.value);
      } catch (e) {
        throw e instanceof PulumiYamlError ? new PulumiYamlError(e.reason, [key, ...e.path]) : e;
      }
    }
    // The mapping's own keys win, then the merged maps in order (decode.go mergedFields).
    for (const m of merged)
      for (const [k, v] of Object.entries(m as { [key: string]: Decoded })) if (!Object.hasOwn(out, k)) out[k] = v;
    return out;
  }
  if (node === null || node === undefined) return null;
  throw new PulumiYamlError(`unexpected YAML node ${String((node as Node).toString())}`);
}

/** config.ParseKey (key.go): <namespace>:<name>, or the legacy <namespace>:config:<name>; a bare name gets the project's namespace (loaders.go). */
export function parseConfigKey(key: string): string {
  if (!key.includes(":")) return `${PROJECT}:${key}`;
  const parts = key.split(":");
  if (parts.length === 2) return key;
  if (parts.length === 3 && parts[1] === "config") return `${parts[0]}:${parts[2]}`;
  throw new PulumiYamlError(
    `${key}: could not parse as a configuration key (configuration keys should be of the form <namespace>:<name>)`,
  );
}

/** isSecureValue (object.go): a mapping with the single key `secure` and a text value. */
const isSecureValue = (v: Decoded): boolean =>
  v !== null &&
  typeof v === "object" &&
  !Array.isArray(v) &&
  Object.keys(v).length === 1 &&
  typeof v.secure === "string";

/** Whether a value is or holds a secret, at any depth (object.go Secure). */
export const holdsSecret = (v: Decoded): boolean =>
  isSecureValue(v) ||
  (v !== null && typeof v === "object" && (Array.isArray(v) ? v : Object.values(v)).some(holdsSecret));

const byBytes = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Go's json.Marshal: map keys sorted by bytes, and <, >, & escaped as it does by default. */
export function goJson(v: Decoded): string {
  if (v === null) return "null";
  if (typeof v === "bigint" || typeof v === "number" || typeof v === "boolean") return String(v);
  if (typeof v === "string")
    return JSON.stringify(v).replace(
      /[<>&\u2028\u2029]/g,
      (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
    );
  if (Array.isArray(v)) return `[${v.map(goJson).join(",")}]`;
  const keys = Object.keys(v).sort(byBytes);
  return `{${keys.map((k) => `${goJson(k)}:${goJson(v[k])}`).join(",")}}`;
}

/** Value.MarshalString (object.go): text as is, numbers and booleans as JSON, lists and objects as JSON; null reads as "" (loaders.go). */
export const pulumiText = (v: Decoded): string => (v === null ? "" : typeof v === "string" ? v : goJson(v));

export interface PulumiConfig {
  config: RawConfig;
  /** Keys whose value is or holds a secret; not in config. */
  secrets: string[];
}

/** A stack file's `config:` mapping, decoded, as Pulumi hands it to the program. */
export function pulumiConfig(mapping: { [key: string]: Decoded }): PulumiConfig {
  const config: RawConfig = {};
  const secrets: string[] = [];
  const written = new Map<string, string>();
  for (const [written_, v] of Object.entries(mapping)) {
    const key = parseConfigKey(written_);
    const earlier = written.get(key);
    if (earlier !== undefined)
      throw new PulumiYamlError(`${written_} and ${earlier} are the same key, ${key}: keep one`);
    written.set(key, written_);
    if (holdsSecret(v)) secrets.push(key);
    else config[key] = pulumiText(v);
  }
  return { config, secrets };
}
