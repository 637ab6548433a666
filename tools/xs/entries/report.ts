/// <reference path="../xs-globals.d.ts" />
// The checks of an XS entry: each runs, a failure prints `FAIL name: message`, and result() prints
// the last line `XS-RESULT {"pass":n,"fail":n,...extra,"failures":[...]}` that test/xs.test.ts reads.
let pass = 0;
let fail = 0;
const failures: string[] = [];

export function check(name: string, fn: () => void): void {
  try {
    fn();
    pass++;
  } catch (e) {
    fail++;
    const msg = `${name}: ${e instanceof Error ? e.message : String(e)}`;
    failures.push(msg);
    print('FAIL ' + msg);
  }
}

export function result(extra: Record<string, unknown>): void {
  print('XS-RESULT ' + JSON.stringify({ pass, fail, ...extra, failures }));
}
