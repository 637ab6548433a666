// Runs a program of this repository as a child process and gathers its output, for the tests of
// the tools (npm start, the fleet, the benches): the exit code, stdout, stderr and the time it took.
import { spawn } from 'node:child_process';

export interface Run {
  code: number | null;
  out: string;
  err: string;
  ms: number;
}

export function run(command: string, argv: string[], o: { cwd: string; env?: Record<string, string>; timeoutMs: number; name: string }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, argv, { cwd: o.cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...o.env } });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (err += s));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${o.name} did not end within ${o.timeoutMs} ms\n${out}\n${err}`));
    }, o.timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err, ms: performance.now() - t0 });
    });
  });
}
