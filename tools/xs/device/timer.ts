// `timer` for the device app in xsnap: Moddable's Timer.set / repeat / schedule / clear, run by
// tools/xs/device/io.ts's tick (one-shot timers are freed after they fire, as on the device).
import { now, timers, type SimTimer } from './io.js';

const Timer = {
  set(fn: (t: SimTimer) => void, ms = 0, repeat = 0): SimTimer {
    const t: SimTimer = { fn, due: now + ms, repeat, live: true };
    timers.push(t);
    return t;
  },
  repeat(fn: (t: SimTimer) => void, ms: number): SimTimer {
    return Timer.set(fn, ms, ms);
  },
  schedule(t: SimTimer, ms?: number, repeat = 0): void {
    if (ms === undefined) {
      t.due = Infinity; // unscheduled, kept
      return;
    }
    t.due = now + ms;
    t.repeat = repeat;
    t.live = true;
    if (timers.indexOf(t) < 0) timers.push(t);
  },
  clear(t: SimTimer | null | undefined): void {
    if (t) t.live = false;
  },
};
export default Timer;
