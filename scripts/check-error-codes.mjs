#!/usr/bin/env node
// Error codes are part of the API: every code the README documents must be asserted by a negative
// test, and every code the library throws must be documented. Documented = the README's error table
// plus the tracker's wire codes listed in docs/tracker.md (the table points there). Asserted = a
// test calls a helper named expect…Code (expectCode, expectRejectCode, expectReportedCode, ...) with
// the code as a string literal argument; tests are `*.test.ts` files and test helpers under src/,
// and the browser specs `e2e/**/*.spec.ts` (a code only a browser can raise is asserted there, e.g.
// on the error a page reports). Thrown = `new P2PError('X'` in src/ outside tests, plus the codec's
// CODEC_ERRORS table. Exits 1 and lists what is missing.
// Run by `npm test` (scripts/test.mjs) as one check; alone: `node scripts/check-error-codes.mjs`.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const read = (p) => readFileSync(join(root, p), 'utf8');
const CODE = /`([A-Z][A-Z0-9_]{2,})`/g;

/** Codes in the README's "## Errors" section (its table), then the tracker's wire-code paragraph. */
export function documentedCodes() {
  const readme = read('README.md');
  const section = readme.slice(readme.indexOf('## Errors'), readme.indexOf('\n## ', readme.indexOf('## Errors') + 1));
  const codes = new Set([...section.matchAll(CODE)].map((m) => m[1]));
  const tracker = read('docs/tracker.md');
  const at = tracker.indexOf('Error codes sent in `error` messages');
  if (at >= 0) {
    const para = tracker.slice(at, tracker.indexOf('\n\n', at));
    for (const m of para.matchAll(CODE)) codes.add(m[1]);
  }
  return codes;
}

function walk(dir, out = []) {
  for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (/\.(ts|mjs|js)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** The text of each call `expect…Code(...)`, parentheses balanced, strings skipped. */
function helperCalls(text) {
  const out = [];
  for (const m of text.matchAll(/\bexpect\w*Code\s*\(/g)) {
    let depth = 0;
    let quote = null;
    let i = m.index + m[0].length - 1;
    for (; i < text.length; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"' || c === '`') quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) break;
    }
    out.push(text.slice(m.index, i + 1));
  }
  return out;
}

/** Codes asserted in one test file's text. */
export function assertedCodesIn(text) {
  const codes = new Set();
  // A helper's own definition (`function expectCode(fn, code)`) asserts nothing.
  for (const call of helperCalls(text)) {
    if (/^expect\w*Code\s*\(\s*[A-Za-z_]\w*\s*:/.test(call) || /function\s+$/.test(text.slice(0, text.indexOf(call)).slice(-12))) continue;
    for (const s of call.matchAll(/['"]([A-Z][A-Z0-9_]{2,})['"]/g)) codes.add(s[1]);
  }
  return codes;
}

export function assertedCodes(files) {
  const codes = new Set();
  for (const f of files) for (const c of assertedCodesIn(read(f))) codes.add(c);
  return codes;
}

export function thrownCodes(files) {
  const codes = new Map();
  const add = (code, f) => codes.set(code, [...(codes.get(code) ?? []), f]);
  for (const f of files) {
    const text = read(f);
    // The code argument: a literal, or an expression choosing between literals (`a ? 'X' : 'Y'`).
    for (const m of text.matchAll(/new P2PError\(([^,]*),/g)) {
      for (const c of m[1].matchAll(/['"]([A-Z][A-Z0-9_]*)['"]/g)) add(c[1], f);
    }
    const table = /export const CODEC_ERRORS = \{([^}]*)\}/.exec(text);
    if (table) for (const m of table[1].matchAll(/['"]([A-Z][A-Z0-9_]*)['"]/g)) add(m[1], f);
  }
  return codes;
}

const isSrcTest = (f) => /\.test\.ts$/.test(f) || /(contract|test-kit|harness|expect-code)\.ts$/.test(f);

/** The files whose expect…Code calls count: unit tests and test helpers in `src`, browser specs in `e2e`. */
export function testFiles(srcFiles, e2eFiles) {
  return [...srcFiles.filter(isSrcTest), ...e2eFiles.filter((f) => /\.spec\.ts$/.test(f))];
}

// Run as a script (not when a test imports the functions above).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();

function main() {
  const all = walk('src');
  const tests = testFiles(all, existsSync(join(root, 'e2e')) ? walk('e2e') : []);
  const library = all.filter((f) => !isSrcTest(f));

  const documented = documentedCodes();
  const asserted = assertedCodes(tests);
  const thrown = thrownCodes(library);

  const untested = [...documented].filter((c) => !asserted.has(c)).sort();
  const undocumented = [...thrown.keys()].filter((c) => !documented.has(c)).sort();

  console.log(`error codes: ${documented.size} documented, ${documented.size - untested.length} asserted by a test, ${thrown.size} thrown in src/`);
  if (untested.length > 0) console.log(`documented but asserted by no test (expect…Code(…, 'CODE')): ${untested.join(', ')}`);
  if (undocumented.length > 0) {
    console.log('thrown but not documented in the README error table:');
    for (const c of undocumented) console.log(`  ${c} (${[...new Set(thrown.get(c))].join(', ')})`);
  }
  process.exit(untested.length + undocumented.length > 0 ? 1 : 0);
}
