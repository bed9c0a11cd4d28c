// No congestion collapse: a viewer whose page is starved of CPU (DevTools' CPU throttling) falls
// behind, and its repairs and re-requests must not feed on themselves. Before the budgets that
// shrink when a peer falls behind, a busy page pulled 10.9 × the stream (19 × at worst). Here one of
// three viewers runs at a twentieth of its CPU for 40 s; each viewer's download, as a multiple of the
// stream the broadcaster published meanwhile, its playhead and frames are printed. Asserted: the
// starved viewer stays far from a storm (under 3 × the stream, where a storm was 10 ×).
// Printed, not asserted: the neighbours' missed frames (14 and 21 of about 100 in a clean CI run
// before the slow neighbour's slot could be moved in a three-viewer swarm) swing from a few to
// nearly all on a machine loaded far beyond its cores, with the same code (docs/protocol.md, Known
// limits); the rule is held in the pair harness (src/protocol/slow-neighbour.test.ts).
import { expect, test } from '@playwright/test';
import { broadcasterSnapshot, goLive, openViewer, viewerSnapshot, type Peer } from './swarm-kit.ts';

test.describe.configure({ timeout: 240_000 });

const contexts: Peer[] = [];
test.afterEach(async () => {
  for (const p of contexts.splice(0)) await p.context.close().catch(() => {});
});

test('a CPU-starved viewer does not start a storm of repairs; its neighbours play on', async ({ browser }) => {
  const b = await goLive(browser);
  contexts.push(b);
  const list: Peer[] = [];
  for (let i = 0; i < 3; i++) {
    const v = await openViewer(browser, b.watchLink, `viewer ${i}`);
    contexts.push(v);
    list.push(v);
  }
  for (const v of list) await expect.poll(async () => (await viewerSnapshot(v.page)).currentTime, { timeout: 60_000 }).toBeGreaterThan(1);

  const starved = list[0];
  const cdp = await starved.context.newCDPSession(starved.page);
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 20 });
  const b0 = await broadcasterSnapshot(b.page);
  const v0 = await Promise.all(list.map((v) => viewerSnapshot(v.page)));
  await new Promise((r) => setTimeout(r, 40_000));
  const b1 = await broadcasterSnapshot(b.page);
  const v1 = await Promise.all(list.map((v) => viewerSnapshot(v.page)));
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 1 }).catch(() => {});

  const stream = b1.streamBytes - b0.streamBytes;
  expect(stream).toBeGreaterThan(0);
  const ratios = list.map((_, i) => (v1[i].session.bytesDown - v0[i].session.bytesDown) / stream);
  const advanced = list.map((_, i) => v1[i].currentTime - v0[i].currentTime);
  console.log(`over 40 s, viewer 0 at 1/20 CPU: download / stream ${ratios.map((r) => r.toFixed(2)).join(' / ')}; playhead advanced ${advanced.map((a) => a.toFixed(1)).join(' / ')} s; broadcaster upload / stream ${((b1.bytesUp - b0.bytesUp) / stream).toFixed(2)}`);
  for (const [i, v] of v1.entries()) {
    const s = v.session;
    console.log(`viewer ${i}: frames delivered ${s.framesDelivered - v0[i].session.framesDelivered}, missed ${s.framesMissed - v0[i].session.framesMissed}, fragments appended ${v.fragmentsAppended - v0[i].fragmentsAppended}, skipped ${v.fragmentsSkipped - v0[i].fragmentsSkipped}, status ${v.status}`);
  }
  expect(ratios[0]).toBeLessThan(3);
});
