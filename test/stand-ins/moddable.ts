// Moddable's modules stood in on Node for the ECMA-419 class's unit test (test/ecma419-class.test.ts):
// a TCP socket that records what is written and is fed bytes by the test, a virtual timer, Time.ticks
// on it. The class in Moddable's real runtime, against Mosquitto, is test/moddable-ecma419.test.ts.

type T = { cb: () => void; at: number; rep: number; live: boolean };
const timers: T[] = [];
let now = 0;

export const Timer = {
  set(cb: () => void, ms = 0, rep = 0): T {
    const t = { cb, at: now + ms, rep, live: true };
    timers.push(t);
    return t;
  },
  repeat(cb: () => void, ms: number): T {
    return Timer.set(cb, ms, ms);
  },
  schedule(t: T, ms: number, rep = 0): void {
    if (!t.live) throw new Error('schedule on a cleared timer');
    t.at = now + ms;
    t.rep = rep;
  },
  clear(t?: T): void {
    if (t) t.live = false;
  },
};

/** Runs the timers due within `ms` of virtual time, in order. */
export function advance(ms: number): void {
  const end = now + ms;
  for (;;) {
    const due = timers.filter((t) => t.live && t.at <= end).sort((a, b) => a.at - b.at)[0];
    if (!due) break;
    now = Math.max(now, due.at);
    if (due.rep) due.at = now + due.rep;
    else due.live = false;
    due.cb();
  }
  now = end;
}

export const Time = {
  get ticks(): number {
    return now;
  },
};

export const sockets: TCP[] = [];

/** ECMA-419's TCP socket as Moddable's lin/lwIP one behaves: write() throws past its room. */
export class TCP {
  o: any;
  out: number[] = [];
  in: number[] = [];
  room = 1536;
  closed = false;
  constructor(o: any) {
    this.o = o;
    sockets.push(this);
  }
  write(b: Uint8Array): number {
    if (this.closed) throw new Error('closed');
    if (b.length > this.room) throw new Error('would block');
    this.out.push(...b);
    this.room -= b.length;
    return this.room;
  }
  read(b: Uint8Array): number {
    for (let i = 0; i < b.length; i++) b[i] = this.in.shift()!;
    return b.length;
  }
  close(): void {
    this.closed = true;
  }
  // The test's side.
  feed(bytes: ArrayLike<number>): void {
    this.in.push(...Array.from(bytes));
    this.o.onReadable(this.in.length);
  }
  writable(room = 1536): void {
    this.room = room;
    this.o.onWritable(room);
  }
  take(): number[] {
    const o = this.out;
    this.out = [];
    return o;
  }
}

export class UDP {
  constructor(public o: any) {}
  write(): void {}
  close(): void {}
}

/** A resolver that answers at once, reading a reply through its socket's onReadable as Moddable's does. */
export class Resolver {
  o: any;
  constructor(o: any) {
    this.o = o;
  }
  resolve(r: any): void {
    const socket = new this.o.socket.io({ onReadable: () => { throw new Error('read past close'); } });
    socket.o.onReadable(64); // a second reply, read after close: the guard swallows it
    r.onResolved(r.host, '10.0.0.1');
  }
  close(): void {}
}
