// Differential test of Moat's CEL engine against @bufbuild/cel (an independent CEL implementation
// in ECMAScript): generated expressions are evaluated by both, as `[E, type(E)]` so that the
// result types are compared too, and must agree (the same value and type, or both an error).
//   node tests/cel/differential.mjs MOAT_BINARY [COUNT] [SEED]
// Prints a PASS/FAIL line per disagreement class and `cel_differential: N passed, M failed`.

import { spawnSync } from "node:child_process";
import { run, isCelError, isCelMap, isCelList, isCelUint, isCelType } from "@bufbuild/cel";
import { strings } from "@bufbuild/cel/ext";

const [moat, countArg, seedArg] = process.argv.slice(2);
if (!moat) {
  console.error("usage: differential.mjs MOAT_BINARY [COUNT] [SEED]");
  process.exit(2);
}
const count = Number(countArg ?? 400);
let seed = Number(seedArg ?? 12);

// A small deterministic PRNG (mulberry32), so a failure can be replayed with its seed.
function random() {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = seed;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => items[Math.floor(random() * items.length)];
const chance = (p) => random() < p;

const ints = ["0", "1", "2", "3", "7", "-1", "-5", "42", "100", "9223372036854775807",
  "-9223372036854775808", "1000000007"];
const uints = ["0u", "1u", "2u", "10u", "18446744073709551615u"];
const doubles = ["0.0", "1.5", "-2.25", "3.0", "1e10", "0.1", "-0.0", "2.5e-3"];
const strs = ["''", "'a'", "'abc'", "'Hello World'", "'ünïcödé'", "'a,b,c'", "'  pad  '", "'x'",
  "'abcabc'", "'123'", "'-42'", "'true'", "'3.5'"];

function intExpr(d) {
  if (d <= 0 || chance(0.3)) return pick(ints);
  return pick([
    () => `(${intExpr(d - 1)} ${pick(["+", "-", "*", "/", "%"])} ${intExpr(d - 1)})`,
    () => `-${intExpr(d - 1)}`,
    () => `size(${strExpr(d - 1)})`,
    () => `${listExpr(d - 1)}.size()`,
    () => `int(${pick([...doubles, ...uints, "'17'", "'-3'", "'x'"])})`,
    () => `(${boolExpr(d - 1)} ? ${intExpr(d - 1)} : ${intExpr(d - 1)})`,
    () => `${strExpr(d - 1)}.indexOf(${strExpr(d - 1)})`,
    () => `${strExpr(d - 1)}.lastIndexOf(${pick(strs)})`,
    () => `[${intExpr(d - 1)}, ${intExpr(d - 1)}][${pick(["0", "1", "2", "-1"])}]`,
    () => `{'a': ${intExpr(d - 1)}, 'b': 2}[${pick(["'a'", "'b'", "'c'"])}]`,
  ])();
}

function uintExpr(d) {
  if (d <= 0 || chance(0.4)) return pick(uints);
  return pick([
    () => `(${uintExpr(d - 1)} ${pick(["+", "-", "*", "/", "%"])} ${uintExpr(d - 1)})`,
    () => `uint(${pick([...ints, ...doubles])})`,
  ])();
}

function doubleExpr(d) {
  if (d <= 0 || chance(0.4)) return pick(doubles);
  return pick([
    () => `(${doubleExpr(d - 1)} ${pick(["+", "-", "*", "/"])} ${doubleExpr(d - 1)})`,
    // Not double('nope'): @bufbuild/cel 0.6.1 returns NaN where cel-go (and Moat) fail.
    () => `double(${pick([...ints, ...uints, "'2.5'", "'1e3'", "'-0.5'"])})`,
    () => `-${doubleExpr(d - 1)}`,
  ])();
}

function strExpr(d) {
  if (d <= 0 || chance(0.3)) return pick(strs);
  return pick([
    () => `(${strExpr(d - 1)} + ${strExpr(d - 1)})`,
    () => `string(${pick([...ints, ...uints, "true", "b'bytes'", "1.5", "-0.25"])})`,
    () => `${strExpr(d - 1)}.lowerAscii()`,
    () => `${strExpr(d - 1)}.upperAscii()`,
    () => `${strExpr(d - 1)}.substring(${pick(["0", "1", "2"])})`,
    // Not an empty old string: @bufbuild/cel 0.6.1 replaces it unlike cel-go (Go's
    // strings.Replace, which Moat follows: 'ab'.replace('', '-') == '-a-b-').
    () => `${strExpr(d - 1)}.replace(${pick(strs.filter((x) => x !== "''"))}, ${pick(strs)})`,
    () => `${strExpr(d - 1)}.trim()`,
    () => `${strExpr(d - 1)}.charAt(${pick(["0", "1", "3"])})`,
    () => `${listOfStrings(d - 1)}.join(${pick(["", "', '", "'-'"].filter((x) => x !== ""))})`,
    () => `(${boolExpr(d - 1)} ? ${strExpr(d - 1)} : ${strExpr(d - 1)})`,
  ])();
}

function listOfStrings(d) {
  if (d <= 0 || chance(0.4)) return `[${pick(strs)}, ${pick(strs)}]`;
  return pick([
    () => `${strExpr(d - 1)}.split(${pick(["','", "'b'", "' '"])})`,
    () => `${listOfStrings(d - 1)}.map(s, s + 'x')`,
    () => `${listOfStrings(d - 1)}.filter(s, size(s) > 1)`,
  ])();
}

function listExpr(d) {
  if (d <= 0 || chance(0.3)) return pick(["[]", "[1, 2, 3]", "[1, 'a', 2.5]", "[[1], [2, 3]]", "[true, false]"]);
  return pick([
    () => `(${listExpr(d - 1)} + ${listExpr(d - 1)})`,
    () => `${listExpr(d - 1)}.map(x, ${pick(["x", "[x]", "type(x)", "x == 1"])})`,
    () => `[1, 2, 3, 4].filter(x, ${boolOf("x", d - 1)})`,
    () => `[${intExpr(d - 1)}, ${strExpr(d - 1)}]`,
    () => listOfStrings(d - 1),
  ])();
}

function boolOf(v, d) {
  return pick([
    `${v} > ${intExpr(d)}`, `${v} % 2 == 0`, `${v} in [1, 3]`, `${v} != ${intExpr(d)}`,
  ]);
}

function anyExpr(d) {
  return pick([intExpr, uintExpr, doubleExpr, strExpr, listExpr, boolExpr])(d);
}

function boolExpr(d) {
  if (d <= 0 || chance(0.2)) return pick(["true", "false"]);
  return pick([
    () => `(${boolExpr(d - 1)} ${pick(["&&", "||"])} ${boolExpr(d - 1)})`,
    () => `!${boolExpr(d - 1)}`,
    () => `(${intExpr(d - 1)} ${pick(["<", "<=", ">", ">=", "==", "!="])} ${pick([intExpr, uintExpr, doubleExpr])(d - 1)})`,
    () => `(${strExpr(d - 1)} ${pick(["<", "==", "!=", ">="])} ${strExpr(d - 1)})`,
    () => `${strExpr(d - 1)}.${pick(["contains", "startsWith", "endsWith"])}(${strExpr(d - 1)})`,
    () => `${strExpr(d - 1)}.matches(${pick(["'^a'", "'[0-9]+'", "'b.c'", "'^$'"])})`,
    () => `(${anyExpr(d - 1)} == ${anyExpr(d - 1)})`,
    () => `(${intExpr(d - 1)} in ${listExpr(d - 1)})`,
    () => `${listExpr(d - 1)}.${pick(["all", "exists", "exists_one"])}(x, ${pick(["x == 1", "type(x) == int", "x != 'a'", "1 / 0 == 1 || x == 2"])})`,
    () => `has({'a': 1}.${pick(["a", "b"])})`,
    () => `bool(${pick(["'true'", "'false'", "'t'", "'0'", "'maybe'"])})`,
    () => `(type(${anyExpr(d - 1)}) == ${pick(["int", "uint", "double", "string", "list", "bool"])})`,
  ])();
}

// ---- comparison ------------------------------------------------------------------------

function typeName(t) {
  return typeof t?.name === "string" ? t.name : String(t);
}

// The oracle's value in CEL's JSON mapping, with numbers kept exact as strings and tagged.
function canonical(v) {
  if (v === null) return null;
  if (typeof v === "boolean") return v;
  if (typeof v === "bigint") return `int:${v}`;
  if (isCelUint(v)) return `uint:${v.value}`;
  if (typeof v === "number") return `double:${v}`;
  if (typeof v === "string") return `string:${v}`;
  if (v instanceof Uint8Array) return `bytes:${Buffer.from(v).toString("base64")}`;
  if (isCelType(v)) return `type:${typeName(v)}`;
  if (isCelList(v)) return Array.from(v, canonical);
  if (isCelMap(v)) {
    const out = {};
    for (const [k, val] of v) out[typeof k === "object" ? String(k.value) : String(k)] = canonical(val);
    return out;
  }
  return `other:${String(v)}`;
}

// Moat's JSON output, tagged by the type list that `[E, type(E)]` returns alongside.
function tagMoat(value, type) {
  switch (type) {
    case "int": return `int:${value}`;
    case "uint": return `uint:${value}`;
    case "double": return `double:${typeof value === "string" ? value : Number(value)}`;
    case "string": return `string:${value}`;
    case "bytes": return `bytes:${value}`;
    case "type": return `type:${value}`;
    default: return value;
  }
}

function sameTop(oracle, moatValue) {
  return JSON.stringify(oracle) === JSON.stringify(moatValue);
}

// Elements of lists/maps in Moat's JSON lose int/double tags; compare them loosely by value.
function loose(v) {
  if (typeof v === "string") {
    const m = /^(int|uint|double|string|bytes|type):(.*)$/s.exec(v);
    if (m) {
      if (m[1] === "int" || m[1] === "uint" || m[1] === "double") return Number(m[2]);
      return m[2];
    }
    return v;
  }
  if (Array.isArray(v)) return v.map(loose);
  if (v && typeof v === "object") {
    const out = {};
    for (const key of Object.keys(v)) out[key] = loose(v[key]);
    return out;
  }
  return v;
}

let passed = 0;
let failed = 0;
const failures = [];
for (let i = 0; i < count; i++) {
  const expr = anyExpr(3);
  const wrapped = `[${expr}, type(${expr})]`;
  const oracle = run(wrapped, {}, { funcs: strings });
  const m = spawnSync(moat, ["cel", "eval", wrapped], { encoding: "utf8" });
  const oracleError = isCelError(oracle);
  const moatError = m.status !== 0;
  let ok;
  let detail = "";
  if (oracleError || moatError) {
    ok = oracleError && moatError && m.status === 2;
    detail = `oracle ${oracleError ? "error: " + oracle.message : JSON.stringify(canonical(oracle))}, moat ${moatError ? "error: " + m.stderr.trim() : m.stdout.trim()}`;
  } else {
    const [ov, ot] = canonical(oracle);
    const [mv, mt] = JSON.parse(m.stdout);
    const tagged = tagMoat(mv, mt);
    ok = ot === `type:${mt}` &&
      (sameTop(ov, tagged) || JSON.stringify(loose(ov)) === JSON.stringify(loose(mv)));
    detail = `oracle ${JSON.stringify([ov, ot])}, moat ${m.stdout.trim()}`;
  }
  if (ok) {
    passed++;
  } else {
    failed++;
    failures.push(`${expr}\n    ${detail}`);
  }
}
for (const f of failures) console.log(`FAIL ${f}`);
console.log(`cel_differential: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
