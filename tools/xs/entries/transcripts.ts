/// <reference path="../xs-globals.d.ts" />
// The session transcripts of test/session/transcripts.ts, run inside XS: every transcript with its
// incoming bytes fed whole, byte by byte and in random splits, then case 39 (1000 QoS 1 messages in
// one segment) and the 5000-step random mix of publishes, drops and reconnects (none lost). Prints one
// line per failure and a last line `XS-RESULT {"pass":n,"fail":n,"transcripts":n,"accepted":n,"failures":[...]}`.
import { check, result } from './report.js';
import { TRANSCRIPTS, case39, feedingsOf, randomMix, run } from '../../../test/session/transcripts.js';

for (const c of TRANSCRIPTS) {
  for (const [how, sizes] of feedingsOf(c)) check(c.name + ' / ' + how, () => void run(c.opts, c.steps, sizes, c.startMs));
}
check('case 39 (3 feedings)', () => {
  if (case39() !== 3) throw new Error('not every feeding ran');
});
let accepted = 0;
check('random mix: none lost', () => {
  accepted = randomMix();
});
result({ transcripts: TRANSCRIPTS.length, accepted });
