// The installed command: `node bin/p2p-player-tracker.js` starts, answers /health and /metrics,
// refuses bad flags, and stops cleanly on SIGTERM.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../../bin/p2p-player-tracker.js', import.meta.url));

function get(url: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('p2p-player-tracker command', () => {
  it('runs as an executable through its shebang, with the V8 flags npm start uses too', () => {
    const shebang = readFileSync(bin, 'utf8').split('\n', 1)[0];
    const flags = shebang.split(/\s+/).filter((a) => a.startsWith('--'));
    expect(flags).toContain('--max-semi-space-size=64');
    const start: string = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).scripts.start;
    for (const f of flags) expect(start.split(/\s+/)).toContain(f);
    const run = spawnSync(bin, ['--help'], { encoding: 'utf8' });
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/^p2p-player-tracker: WebSocket tracker/);
  });

  it('listens on --port 0, serves health and metrics, exits 0 on SIGTERM', async () => {
    const child = spawn(process.execPath, [bin, '--port', '0', '--host', '127.0.0.1', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /ws:\/\/127\.0\.0\.1:(\d+)/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
    });
    const health = await get(`http://127.0.0.1:${port}/health`);
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, peers: 0 });
    expect((await get(`http://127.0.0.1:${port}/metrics`)).body).toMatch(/^p2p_tracker_sockets 0$/m);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('passes --min-role-upload to the rooms (the logged room settings say so)', async () => {
    const child = spawn(process.execPath, [bin, '--port', '0', '--host', '127.0.0.1', '--min-role-upload', '0.5'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const settings = await new Promise<string>((resolve, reject) => {
      let err = '';
      child.stderr.on('data', (d) => {
        err += d;
        const m = /room: (\{.*\})/.exec(err);
        if (m) resolve(m[1]);
      });
      child.once('exit', (code) => reject(new Error(`exited early with ${code}: ${err}`)));
    });
    expect(JSON.parse(settings)).toEqual({ minRoleUploadRatio: 0.5 });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('refuses unknown flags and bad numbers with exit code 2', () => {
    const bad = spawnSync(process.execPath, [bin, '--bogus'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/Unknown option '--bogus'/);
    const nan = spawnSync(process.execPath, [bin, '--port', 'x'], { encoding: 'utf8' });
    expect(nan.status).toBe(2);
    expect(nan.stderr).toMatch(/--port must be a non-negative integer/);
    const keys = spawnSync(process.execPath, [bin, '--holder-keys', '7'], { encoding: 'utf8' });
    expect(keys.status).toBe(2);
    expect(keys.stderr).toMatch(/--holder-keys must be 8…256/);
    for (const v of ['-1', 'x', '', '101']) {
      const ratio = spawnSync(process.execPath, [bin, `--min-role-upload=${v}`], { encoding: 'utf8' });
      expect(ratio.status).toBe(2);
      expect(ratio.stderr).toMatch(/--min-role-upload must be a number 0…100/);
    }
    const node = spawnSync(process.execPath, [bin, '--node-id', 'n1'], { encoding: 'utf8' });
    expect(node.status).toBe(2);
    expect(node.stderr).toMatch(/--node-id and --cluster-lease need --redis/);
    const cells = spawnSync(process.execPath, [bin, '--cell-size', '5000'], { encoding: 'utf8', env: { ...process.env, P2P_TRACKER_REDIS: '' } });
    expect(cells.status).toBe(2);
    expect(cells.stderr).toMatch(/as do --cell-size and --max-cells/);
    // A Redis nobody answers at: the node does not start (CLUSTER_UNAVAILABLE), exit 1.
    const noRedis = spawnSync(process.execPath, [bin, '--port', '0', '--redis', 'redis://127.0.0.1:1', '--node-id', 'n1'], { encoding: 'utf8', env: { ...process.env, P2P_TRACKER_REDIS: '' } });
    expect(noRedis.status).toBe(1);
    expect(noRedis.stderr).toMatch(/cannot start: CLUSTER_UNAVAILABLE/);
    const help = spawnSync(process.execPath, [bin, '--help'], { encoding: 'utf8' });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/--max-sockets-per-address/);
    expect(help.stdout).toMatch(/--redis URL/);
    expect(help.stdout).toMatch(/--cell-size N/);
  });
});
