// Drives xsnap-worker: netstring messages on fd 3 (to XS) and fd 4 (from XS). `e<js>` evaluates a
// script; the reply `.{"currentHeapCount":n,"compute":n,"allocate":n,...}\x01<result>` reports the
// XS heap slots in use after the evaluation. XS counts every slot it takes from the free list and
// resets the count only when it collects, so after `gc(); work()` the count minus the count after
// `gc(); work-with-n=0` is the number of slots `work` allocated (chunks, i.e. string and buffer
// bodies, are not counted; new objects, arrays, closures and views always take slots).
import { spawn } from 'node:child_process';
import { buildXsnap } from './build-xsnap.mjs';

/**
 * Starts xsnap-worker. `onCommand(bytes: Buffer): Buffer | undefined` answers the script's
 * issueCommand(ArrayBuffer) calls (synchronous in XS: the worker waits for the answer).
 */
export async function startWorker({ onCommand } = {}) {
  const { worker } = await buildXsnap();
  const child = spawn(worker, [], { stdio: ['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] });
  const toXs = child.stdio[3];
  toXs.on('error', (e) => (stderr += `to xsnap-worker: ${e.message}\n`)); // a pipe to a worker that died: reported by the next send
  const fromXs = child.stdio[4];
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  let buf = Buffer.alloc(0);
  const waiting = [];
  let exited = null;
  fromXs.on('data', (d) => {
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const colon = buf.indexOf(0x3a);
      if (colon < 0) return;
      const len = Number(buf.subarray(0, colon).toString());
      if (buf.length < colon + 1 + len + 1) return;
      const msg = buf.subarray(colon + 1, colon + 1 + len);
      buf = buf.subarray(colon + 2 + len);
      if (msg[0] === 0x3f) {
        // '?': a command from issueCommand(); the answer is '/' and its bytes.
        let answer = Buffer.alloc(0);
        try {
          answer = onCommand?.(msg.subarray(1)) ?? answer;
        } catch (e) {
          stderr += `onCommand: ${e}\n`;
        }
        const body = Buffer.concat([Buffer.from('/'), answer]);
        toXs.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
        continue;
      }
      waiting.shift()?.ok(msg);
    }
  });
  child.on('close', (code, signal) => {
    exited = code ?? signal;
    for (const w of waiting.splice(0)) w.fail(new Error(`xsnap-worker exited ${exited}\n${stderr}`));
  });

  function send(text) {
    if (exited !== null) return Promise.reject(new Error(`xsnap-worker exited ${exited}\n${stderr}`));
    if (toXs.writableEnded) return Promise.reject(new Error('xsnap-worker closed'));
    const body = Buffer.from(text);
    return new Promise((ok, fail) => {
      waiting.push({ ok, fail });
      toXs.write(Buffer.concat([Buffer.from(`${body.length}:`), body, Buffer.from(',')]));
    });
  }

  return {
    get stdout() {
      return stdout;
    },
    /** Evaluates a script; resolves to { currentHeapCount, compute, allocate } or rejects with the XS error. */
    async evaluate(code) {
      const msg = await send('e' + code);
      const text = msg.toString();
      if (text[0] === '!') throw new Error('XS: ' + text.slice(1));
      if (text[0] !== '.') throw new Error('unexpected reply ' + text.slice(0, 200));
      const sep = text.indexOf('\x01');
      const meter = JSON.parse(text.slice(1, sep));
      return { currentHeapCount: meter.currentHeapCount, compute: meter.compute, allocate: meter.allocate };
    },
    close() {
      toXs.end();
      return new Promise((ok) => (exited !== null ? ok(exited) : child.on('close', (c) => ok(c))));
    },
  };
}
