#!/usr/bin/env node
// Runs every test runner of the project (Vitest unit tests, the error-code check, then Playwright
// browser tests when e2e/ has specs) and ends with one line "N passed, N failed" totalled over all
// of them (the error-code check counts as one).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
import { ensureSystemDeps } from './system-deps.mjs';

const run = (cmd, args, env = {}) =>
  spawnSync(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } }).status ?? 1;

let passed = 0;
let failed = 0;
let codes = 0;

// Debian packages the suites need (Chromium, ...): installed with apt when missing and root.
if (!ensureSystemDeps()) {
  console.log('0 passed, 1 failed');
  process.exit(1);
}

/** One Vitest run (of `files`, or of everything): its exit code and report, or undefined without one. */
function vitest(files = []) {
  const out = '.vitest-report.json';
  rmSync(out, { force: true });
  const code = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...files]);
  return { code, report: existsSync(out) ? JSON.parse(readFileSync(out, 'utf8')) : undefined };
}
/** Passed and failed of a Vitest report: each failed test once, plus each test file that failed
 * outside its tests (it did not load, or a hook threw). numFailedTestSuites is no measure: it
 * counts the describe blocks around a failed test. */
function vitestCounts(r) {
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  return { passed: r.numPassedTests ?? 0, failed: (r.numFailedTests ?? 0) + brokenFiles.length };
}

const first = vitest();
if (first.report) {
  const c = vitestCounts(first.report);
  // A run that failed with no failed test and no broken file ended on an error outside every test:
  // a worker process that died (the native crash of @roamhq/wrtc 0.10 when a datachannel closes
  // under a send, docs/transport.md). The files whose tests it left unrun run once more, and their
  // second run counts instead, printed as such; a file that fails again fails the run.
  const unrun = first.code !== 0 && c.failed === 0
    ? (first.report.testResults ?? []).filter((f) => (f.assertionResults ?? []).some((a) => a.status === 'pending'))
    : [];
  if (unrun.length > 0 && unrun.length <= 5) {
    const names = unrun.map((f) => relative(process.cwd(), f.name));
    console.log(`Vitest ended with an error outside every test (a worker process died); running again the file(s) whose tests did not run: ${names.join(', ')}`);
    const again = vitest(names);
    const donePassed = unrun.reduce((n, f) => n + (f.assertionResults ?? []).filter((a) => a.status === 'passed').length, 0);
    passed += c.passed - donePassed;
    if (again.report) {
      const c2 = vitestCounts(again.report);
      passed += c2.passed;
      failed += c2.failed;
      if (again.code !== 0 && c2.failed === 0) failed += 1;
    } else {
      failed += 1;
    }
    console.log(`Second run of ${names.length} file(s): exit code ${again.code}`);
  } else {
    passed += c.passed;
    failed += c.failed;
    codes |= first.code;
  }
} else {
  failed += 1;
  codes |= first.code;
}

// Every documented error code asserted by a test, every thrown code documented: one check.
if (run('node', ['scripts/check-error-codes.mjs']) === 0) passed += 1;
else failed += 1;

const specs = existsSync('e2e') ? readdirSync('e2e').filter((f) => f.endsWith('.spec.ts')) : [];
if (specs.length > 0) {
  const pwJson = '.playwright-report.json';
  rmSync(pwJson, { force: true });
  codes |= run('npx', ['playwright', 'test', '--reporter=list,json'], { PLAYWRIGHT_JSON_OUTPUT_NAME: pwJson });
  if (existsSync(pwJson)) {
    const s = JSON.parse(readFileSync(pwJson, 'utf8')).stats ?? {};
    passed += (s.expected ?? 0) + (s.flaky ?? 0);
    failed += (s.unexpected ?? 0);
  } else {
    failed += 1;
  }
}

if (codes !== 0 && failed === 0) failed = 1;
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
