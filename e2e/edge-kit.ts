// The LL-HLS edge server of the browser tests (e2e/hls-edge-server.ts: tracker, a broadcast
// session publishing ffmpeg-made media over WebRTC in Node, the edge) as a child process, with a
// bounded start. The server is the tests' fixture, not what they test: on a loaded machine it has
// been seen to print nothing for minutes (ffmpeg, the WebRTC link between the two sessions in one
// process), so a start that is not ready within `readyMs` is stopped and tried once more, and
// says so; a second failure fails the test with the server's last error lines. No assertions here.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { HlsHandlerCounters } from '../src/hls/hls-handler.ts';

export interface FailedReport {
  by: string;
  peer: string;
  atMs: number;
}

export interface EdgeServer {
  baseUrl: string;
  streamId: string;
  /** The edge's HTTP handler counters as the server last printed them (every 250 ms), or null before the first. */
  counters(): HlsHandlerCounters | null;
  /** Failed-link reports the server's own peers (broadcaster, edge) sent to the tracker so far; atMs is Date.now(). */
  failedReports(): FailedReport[];
  stop(): void;
}

function startOnce(seconds: number, readyMs: number): Promise<EdgeServer> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'e2e/hls-edge-server.ts', String(seconds)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const errors: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    process.stderr.write(d);
    errors.push(...d.toString().split('\n').filter(Boolean));
    errors.splice(0, Math.max(0, errors.length - 20));
  });
  let stopping = false;
  const stop = () => {
    stopping = true;
    child.kill('SIGKILL');
  };
  // An end the test did not ask for is said in the test's output, with the server's last error
  // lines: a server that dies shows as "connection refused" in the page, which alone does not say
  // why. A native crash prints nothing: @roamhq/wrtc 0.10 clears a data channel's native handle on
  // its signaling thread when the channel closes, while a send on the JavaScript thread may have
  // checked it a moment before; a Node peer sending to a viewer that closes its connections (the
  // link cut) then ends with SIGSEGV now and then (a core dump shows RTCDataChannel::Send reading
  // a null handle).
  child.on('exit', (code, signal) => {
    if (!stopping) console.log(`edge server (pid ${child.pid}) ended by itself: ${signal ? `signal ${signal}` : `exit code ${code}`}; last error lines: ${errors.slice(-10).join(' | ') || 'none'}`);
  });
  return new Promise<EdgeServer>((resolve, reject) => {
    const timer = setTimeout(() => (stop(), reject(new Error(`the edge server was not ready within ${readyMs} ms`))), readyMs);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the edge server ended before it was ready (${signal ?? `exit ${code}`}): ${errors.slice(-5).join(' | ') || 'no error output'}`));
    });
    let counters: HlsHandlerCounters | null = null;
    const failed: FailedReport[] = [];
    let ready = false;
    void (async () => {
      for await (const line of createInterface({ input: child.stdout! })) {
        if (!line.startsWith('{')) continue;
        let msg: { baseUrl?: string; streamId?: string; counters?: HlsHandlerCounters; failed?: FailedReport };
        try {
          msg = JSON.parse(line) as typeof msg;
        } catch {
          continue;
        }
        if (msg.counters) counters = msg.counters;
        if (msg.failed) failed.push(msg.failed);
        if (ready || msg.baseUrl === undefined || msg.streamId === undefined) continue;
        ready = true;
        clearTimeout(timer);
        resolve({ baseUrl: msg.baseUrl, streamId: msg.streamId, counters: () => counters, failedReports: () => failed.slice(), stop });
      }
    })();
  });
}

/** Starts the edge server with `seconds` of media; one more try when the first is not ready in time. */
export async function startEdgeServer(seconds: number, readyMs = 90_000): Promise<EdgeServer> {
  try {
    return await startOnce(seconds, readyMs);
  } catch (e) {
    console.log(`edge server, first start failed (${String(e)}); starting it again`);
    return startOnce(seconds, readyMs);
  }
}
