#!/usr/bin/env node
// Runs every test runner of the project (Vitest unit tests, the error-code check, then Playwright
// browser tests when e2e/ has specs) and ends with one line "N passed, N failed" totalled over all
// of them (the error-code check counts as one).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
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

const vitestJson = '.vitest-report.json';
rmSync(vitestJson, { force: true });
codes |= run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${vitestJson}`]);
if (existsSync(vitestJson)) {
  const r = JSON.parse(readFileSync(vitestJson, 'utf8'));
  passed += r.numPassedTests ?? 0;
  // Each failed test once, plus each test file that failed outside its tests (it did not load, or a
  // hook threw). numFailedTestSuites is no measure: it counts the describe blocks around a failed test.
  const brokenFiles = (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  failed += (r.numFailedTests ?? 0) + brokenFiles.length;
} else {
  failed += 1;
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
