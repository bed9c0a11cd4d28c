#!/usr/bin/env node
// `npm run test:mutation [-- folder...]`: StrykerJS mutation testing, one run per folder, each with
// its own incremental file (reports/mutation/<folder>.incremental.json, not in git) so that a run
// tests only the mutants whose code or covering tests changed since the last run of that folder.
// Prints the mutation score per folder at the end. Slow: not part of `npm test`. See docs/mutation.md.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const notTests = ['!src/**/*.test.ts'];

/** What each folder mutates: the pure rules and their direct wrappers, not glue to the DOM or sockets. */
export const FOLDERS = {
  protocol: ['src/protocol/*.ts', '!src/protocol/core-harness.ts'],
  codec: ['src/codec/*.ts', '!src/codec/codec-contract.ts', '!src/codec/write-vectors.ts', '!src/codec/known-answer.ts', '!src/codec/index.ts'],
  // Rooms, messages, server limits and the pure bookkeeping under them. Not the cluster node and the
  // in-memory backend (their tests run several trackers and a redis-server: seconds per mutant), nor
  // the Redis backend (I/O), metrics text, HTTP endpoints, the CLI, Node crypto wrappers.
  tracker: [
    'src/tracker/room.ts', 'src/tracker/role-book.ts', 'src/tracker/role-trust.ts', 'src/tracker/swarm-graph.ts',
    'src/tracker/messages.ts', 'src/tracker/room-config.ts', 'src/tracker/server-config.ts', 'src/tracker/server.ts',
    'src/tracker/signal-budget.ts', 'src/tracker/address-book.ts', 'src/tracker/address-keys.ts',
  ],
  media: ['src/media/*.ts', '!src/media/index.ts'],
  player: ['src/player/latency-controller.ts', 'src/player/latency-adapter.ts', 'src/player/append-queue.ts'],
  transport: ['src/transport/transport-core.ts', 'src/transport/peer-entry.ts', 'src/transport/transport-config.ts', 'src/transport/signal-schema.ts'],
};

/**
 * Subsets of a folder, `folder:name`: only the code of its safety rules, for a first run in minutes
 * where the whole folder takes hours. Reports and incremental file of their own
 * (reports/mutation/<folder>-<name>.*). `file#name` is the function, method or class `name` of
 * that file (found by its declaration, so the subset follows the code as it moves). The folder's
 * tests run except those in `SUBSET_SKIPS` (whole-swarm simulations and fuzzing: a rule is to be
 * proven by the smallest harness that shows it, and each of those takes 10 s per mutant), and a
 * mutant that hangs is cut after its tests' normal time + 5 s (the folder run: × 2 + 10 s).
 */
const PROTOCOL_SKIPS = ['src/protocol/collusion.test.ts', 'src/protocol/core-fuzz.test.ts'];
// The tracker's subsets leave out the cluster and CLI tests, as the folder run does (a redis-server or
// a child process per run; they prove the cluster and the CLI, not these rules).
const TRACKER_SKIPS = ['src/tracker/cluster.test.ts', 'src/tracker/cluster-kill.test.ts', 'src/tracker/cluster-backend.test.ts', 'src/tracker/cli.test.ts'];
export const SUBSET_SKIPS = {
  'tracker:budgets': TRACKER_SKIPS,
  'tracker:limits': TRACKER_SKIPS,
  'tracker:messages': TRACKER_SKIPS,
  'tracker:parse': TRACKER_SKIPS,
  'tracker:rooms': TRACKER_SKIPS,
  'protocol:replay-slot-ban': PROTOCOL_SKIPS,
  'protocol:budgets': PROTOCOL_SKIPS,
  'protocol:verifier': PROTOCOL_SKIPS,
  'protocol:locate': PROTOCOL_SKIPS,
};
/**
 * Test files of a subset, where not the folder's (less SUBSET_SKIPS): the tracker's rules are proven
 * by their unit tests and the server's limit tests; its whole-room property and 10 000-peer tests
 * (seconds per mutant) would make a first run take hours on two shared cores.
 */
export const SUBSET_TESTS = {
  'tracker:budgets': ['limit-rules', 'role-trust-rules', 'role-trust', 'server-budgets', 'limits'].map((f) => `src/tracker/${f}.test.ts`),
  'tracker:limits': ['limit-rules', 'limits', 'server-budgets', 'hostile', 'violations', 'server', 'server-cluster', 'turn-credentials'].map((f) => `src/tracker/${f}.test.ts`),
  'tracker:messages': ['limit-rules', 'limits', 'server-budgets', 'hostile', 'violations', 'server', 'message-bounds', 'server-messages', 'server-cluster'].map((f) => `src/tracker/${f}.test.ts`),
  'tracker:rooms': ['limit-rules', 'limits', 'server', 'room', 'role-trust', 'server-cluster', 'room-joins'].map((f) => `src/tracker/${f}.test.ts`),
  'tracker:parse': ['fast-path', 'messages'].map((f) => `src/tracker/${f}.test.ts`),
  // The codec's TypeScript, without the WebAssembly glue's suites (the contract on the kernel builds,
  // wasm-glue): the reference and the input checks are proven by the unit tests, the known answers,
  // the independent implementation and the contract on the reference codec (CODEC_TEST_MODE=mutation).
  'codec:reference': ['gf', 'generators', 'codec-input', 'producer-step', 'stage', 'known-answer', 'independent-code', 'reference-codec'].map((f) => `src/codec/${f}.test.ts`),
  'codec:inputs': ['codec-input', 'producer-step', 'stage', 'create-codec', 'known-answer', 'reference-codec'].map((f) => `src/codec/${f}.test.ts`),
  // The field, its matrices, the generators and the producer's check on their own unit tests only
  // (codec:reference with the contract takes hours here: each surviving mutant reruns it).
  'codec:field': ['gf', 'generators', 'producer-step'].map((f) => `src/codec/${f}.test.ts`),
  // The reference codec's own file against what proves it: the contract suite run on it, the known
  // answers and the independent implementation (the field below it is codec:field's).
  'codec:decoder': ['codec-input', 'known-answer', 'independent-code', 'reference-codec'].map((f) => `src/codec/${f}.test.ts`),
};
export const SUBSETS = {
  'protocol:replay-slot-ban': [
    'src/protocol/manifest.ts#ReplayWindow', // replay window
    'src/protocol/peer-core.ts#frameFor', // the core's replay and floor check on every new sequence
    'src/protocol/peer-core.ts#admit',
    'src/protocol/frame-state.ts#directSlotKeys', // direct-feed slot rule, both sides
    'src/protocol/broadcaster-core.ts#sendDirect',
    'src/protocol/neighbour-policy.ts', // ban policy and serving (amplification) budgets
    'src/protocol/peer-core.ts#countBad',
    'src/protocol/peer-core.ts#strike',
    'src/protocol/peer-core.ts#ban',
    'src/protocol/broadcaster-core.ts#countBad',
  ],
  'protocol:budgets': [
    'src/protocol/choose-requests.ts', // outstanding-request budget per neighbour
    'src/protocol/peer-exchange.ts#servePullRequest', // pull requests served within budget
    'src/protocol/broadcaster-core.ts#handleParsed', // repairs, manifests, init segments within budget
  ],
  'protocol:verifier': ['src/protocol/frame-verifier.ts'], // digest check, pollution search, strikes
  'protocol:locate': ['src/protocol/locate-bad-keys.ts'], // locating bad keys with the code
  'codec:reference': [
    // The pure-TypeScript reference codec: the field, its matrices, the generators, the producer's check.
    'src/codec/gf256.ts', 'src/codec/gf-matrix.ts', 'src/codec/generators.ts', 'src/codec/reference-codec.ts', 'src/codec/producer-step.ts',
  ],
  'codec:field': ['src/codec/gf256.ts', 'src/codec/gf-matrix.ts', 'src/codec/generators.ts', 'src/codec/producer-step.ts'],
  'codec:decoder': ['src/codec/reference-codec.ts'],
  'codec:inputs': [
    // What every build shares before the arithmetic: input checks, decode plans, stages, the build self-check.
    'src/codec/codec-input.ts', 'src/codec/stage.ts', 'src/codec/create-codec.ts',
  ],
  'tracker:budgets': [
    'src/tracker/signal-budget.ts', // signal budget per (sender, receiver) pair
    'src/tracker/address-book.ts', // sockets, message and join budgets per address
    'src/tracker/role-trust.ts', // who may hold keys and produce: upload caps, probation, complaints
  ],
  'tracker:limits': [
    'src/tracker/server.ts#write', // send-buffer limit (SLOW_CONSUMER)
    'src/tracker/server.ts#fail', // violations, error-reply throttle
    'src/tracker/server.ts#makeRoom', // stream limits (TOO_MANY_STREAMS)
    'src/tracker/server.ts#enter', // room joins (join budget, ROOM_FULL, PEER_EXISTS, REPLACED)
  ],
  'tracker:messages': [
    'src/tracker/server.ts#onMessage', // rate limits, signal budget and backlog, neighbours only, sizes
  ],
  'tracker:parse': [
    'src/tracker/messages.ts#within', // the hand-checked hot messages must answer as the schema does
    'src/tracker/messages.ts#fastClientMessage',
    'src/tracker/messages.ts#fastServerMessage',
  ],
  'tracker:rooms': [
    'src/tracker/server.ts#leaveRoom', // room leaves
    'src/tracker/room.ts#join',
    'src/tracker/room.ts#leave',
  ],
};
/** Names that stand for several subsets, run one after the other. */
export const GROUPS = {
  'protocol:rules': ['protocol:replay-slot-ban', 'protocol:budgets', 'protocol:verifier', 'protocol:locate'],
  'codec:ts': ['codec:field', 'codec:inputs'],
  'tracker:rules': ['tracker:budgets', 'tracker:limits', 'tracker:messages', 'tracker:parse', 'tracker:rooms'],
};

/** `file#name` → `file:first-last` (Stryker's line range): from the declaration to its closing brace. */
function resolveRange(entry) {
  const [file, name] = entry.split('#');
  if (!name) return file;
  const lines = readFileSync(file, 'utf8').split('\n');
  // A function, class or method declaration, or a `const name = (…) => {` inside a function.
  const decl = new RegExp(`^\\s*(export )?((private|public|async|static|get) )*((function |class )${name}\\b|${name}\\s*\\(|const ${name}\\s*=.*=>).*\\{\\s*$`);
  const start = lines.findIndex((l) => decl.test(l));
  if (start < 0) throw new Error(`${entry}: declaration not found`);
  const indent = lines[start].match(/^\s*/)[0];
  const end = lines.findIndex((l, i) => i > start && (l === `${indent}}` || l === `${indent}};`));
  if (end < 0) throw new Error(`${entry}: end not found`);
  return `${file}:${start + 1}-${end + 1}`;
}

/** The folder's test files (directly in it, as stryker.config.mjs's `testFiles`), less `skip`. */
function testFilesOf(folder, skip) {
  return readdirSync(`src/${folder}`, { recursive: true })
    .map((f) => `src/${folder}/${f}`)
    .filter((f) => f.endsWith('.test.ts') && !skip.includes(f))
    .sort();
}

const args = process.argv.slice(2).map((a) => a.replace(/^src\//, '').replace(/\/$/, '')).flatMap((a) => GROUPS[a] ?? [a]);
const unknown = args.filter((a) => !(a in FOLDERS) && !(a in SUBSETS));
if (unknown.length > 0) {
  console.error(`unknown folder(s): ${unknown.join(', ')}; known: ${[...Object.keys(FOLDERS), ...Object.keys(SUBSETS)].join(', ')}`);
  process.exit(2);
}
const folders = args.length > 0 ? args : Object.keys(FOLDERS);

const scores = [];
let failed = false;
for (const run of folders) {
  const [folder] = run.split(':');
  const name = run.replace(':', '-');
  const mutate = run in SUBSETS ? SUBSETS[run].map(resolveRange).join(',') : [...FOLDERS[folder], ...notTests].join(',');
  const report = `reports/mutation/${name}.json`;
  const subset = run in SUBSETS ? ['--timeoutFactor', '1', '--timeoutMS', '5000', '--testFiles', (process.env.MUTATION_TESTS?.split(',') ?? SUBSET_TESTS[run] ?? testFilesOf(folder, SUBSET_SKIPS[run] ?? [])).join(',')] : [];
  const status = spawnSync('npx', [
    'stryker', 'run', 'stryker.config.mjs',
    '--mutate', mutate,
    ...subset,
    // The codec's byte loops run several times slower in the dry run (per-test coverage counting)
    // than in a mutant's run, so its timeouts need no factor 2: a mutant that loops for ever in the
    // field arithmetic would otherwise cost twice the whole suite's dry-run time (docs/mutation.md).
    ...(folder === 'codec' ? ['--timeoutFactor', '1'] : []),
  ], {
    stdio: 'inherit',
    env: {
      ...process.env,
      // Read by stryker.config.mjs: which tests run (the folder's own) and where the reports go.
      MUTATION_FOLDER: folder,
      MUTATION_REPORT: name,
      // The codec's tests in mutation mode: fewer property runs, two kernel-build suites instead of
      // four (src/codec/codec-contract.ts, docs/mutation.md). Never set by `npm test`.
      ...(folder === 'codec' ? { CODEC_TEST_MODE: 'mutation' } : {}),
    },
  }).status;
  if (status !== 0) failed = true;
  scores.push([run, existsSync(report) ? summarise(JSON.parse(readFileSync(report, 'utf8'))) : null]);
}

/** Score as Stryker defines it: killed + timeout over all valid mutants (no-coverage counts as survived). */
function summarise(r) {
  const n = { Killed: 0, Timeout: 0, Survived: 0, NoCoverage: 0, other: 0 };
  for (const f of Object.values(r.files)) for (const m of f.mutants) n[m.status in n ? m.status : 'other']++;
  const valid = n.Killed + n.Timeout + n.Survived + n.NoCoverage;
  return { ...n, score: valid === 0 ? null : (100 * (n.Killed + n.Timeout)) / valid };
}

console.log('\nmutation score per folder');
for (const [folder, s] of scores) {
  if (!s) console.log(`  ${folder.padEnd(15)} no report (run failed)`);
  else console.log(`  ${folder.padEnd(15)} ${s.score === null ? '-' : s.score.toFixed(1) + ' %'}  killed ${s.Killed}, timeout ${s.Timeout}, survived ${s.Survived}, no coverage ${s.NoCoverage}`);
}
process.exit(failed ? 1 : 0);
