// The outgoing record table: every exchange of ours awaiting an acknowledgement — QoS 1 and 2
// PUBLISHes, SUBSCRIBEs, UNSUBSCRIBEs — one record each, in the order they were made; packet id 0
// marks a free record (coreMQTT's outgoing publish records). A packet id is held by its record and
// nowhere else, so no two open exchanges share one [MQTT-2.3.1-2]. QoS 1/2 PUBLISHes live encoded in a
// fixed byte ring (`buf`) until their PUBACK (QoS 1) or PUBREC (QoS 2). Nothing is allocated per message.
//
// Every state and transition (the session makes them; this table is where a reader finds them all):
//
//   state     the record is…                               → next state, on
//   (0)       free (its id is 0 too)
//   QUEUED    PUBLISH not sent on this connection          → SENT: sent by pump() within the window
//   SENT      PUBLISH sent, PUBACK / PUBREC awaited        → free (onPublished): PUBACK, QoS 1;
//                                                            RELEASED (bytes freed, PUBREL sent): PUBREC, QoS 2;
//                                                            QUEUED with DUP set: link lost
//   RELEASE   PUBREL not sent on this connection (QoS 2)   → RELEASED: PUBREL sent by pump();
//                                                            RELEASED, no PUBREL: CONNACK without the session
//                                                            (complete: freed, onPublished, after onConnected)
//   RELEASED  PUBREL sent, PUBCOMP awaited (QoS 2)         → free (onPublished): PUBCOMP; RELEASE: link lost
//   SUB       SUBSCRIBE sent, SUBACK awaited               → free: SUBACK; free: link lost
//   UNSUB     UNSUBSCRIBE sent, UNSUBACK awaited           → free: UNSUBACK; free: link lost
//
// After a CONNACK, pump() sends QUEUED and RELEASE records in order: resent PUBLISHes (DUP if the
// broker kept the session, cleared if not: they are new to it [MQTT-3.3.1-1]) and PUBRELs first, as
// they are oldest [MQTT-4.4.0-1]. An acknowledgement for a record in any other state than the one
// awaiting it (a PUBACK or PUBREC for a QUEUED one: not sent on this connection) is not a completion.
import { MAX_PACKET_ID, OUTBOX_FULL } from '../codec/constants.js';
import { sizeOfPublish, writePublish } from '../codec/encode.js';
import type { Data } from '../codec/encode.js';

export const QUEUED = 1;
export const SENT = 2;
export const RELEASE = 3;
export const RELEASED = 4;
export const SUB = 5; // (UN)SUBSCRIBE records: SUB and above
export const UNSUB = 6;

export class Outbox {
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  /** Record i: its packet id (0: free), state, and bytes _buf[at, at + _len) (_len 0: none held). */
  declare readonly id: Uint16Array;
  declare readonly _st: Uint8Array;
  declare readonly at: Uint32Array;
  declare readonly _len: Uint32Array;
  /** The byte ring of encoded PUBLISHes. */
  declare readonly _buf: Uint8Array;
  /** PUBLISH records at most (the table also has room for `exchanges` (UN)SUBSCRIBEs). */
  declare readonly max: number;
  /** Records [0, end) may be in use; end only grows until compacted. */
  end = 0;
  /** PUBLISH records in use. */
  count = 0;
  /** @internal The next packet id to try (the ECMA-419 class takes its unkept PUBLISHes' ids from it too). */
  _next = 1;

  constructor(bytes: number, messages: number, exchanges: number) {
    const n = messages + exchanges;
    // One ArrayBuffer under the four columns and the ring (widest first, so each view is aligned):
    // on XS each ArrayBuffer of its own is 96 B of RAM more than a view of a shared one (lin).
    const b = new ArrayBuffer(n * 11 + bytes);
    this.at = new Uint32Array(b, 0, n);
    this._len = new Uint32Array(b, n * 4, n);
    this.id = new Uint16Array(b, n * 8, n);
    this._st = new Uint8Array(b, n * 10, n);
    this._buf = new Uint8Array(b, n * 11, bytes);
    this.max = messages;
  }

  /**
   * A new record in state `st` at the end: its index (the id is in `id[i]`). The caller has checked
   * the limits (`count < max`, or fewer than `exchanges` open (UN)SUBSCRIBEs), so it never fails.
   */
  add(st: number): number {
    const ids = this.id;
    let i = this.end;
    if (i === ids.length) {
      // Compact: slide the records in use to the front, in order (coreMQTT compacts the same way).
      i = 0;
      for (let k = 0; k < this.end; k++) {
        if (!ids[k]) continue;
        ids[i] = ids[k];
        this._st[i] = this._st[k];
        this.at[i] = this.at[k];
        this._len[i++] = this._len[k];
      }
      ids.fill(0, i);
    }
    this.end = i + 1;
    // Ids wrap 65535 → 1 and skip those in use: never 0, never one still open [MQTT-2.3.1-1/2].
    let id: number;
    do {
      id = this._next;
      this._next = (id % MAX_PACKET_ID) + 1;
    } while (this.find(id) >= 0);
    ids[i] = id;
    this._st[i] = st;
    this._len[i] = 0;
    return i;
  }

  /**
   * Encodes a QoS 1 or 2 PUBLISH into the ring as a new QUEUED record: its index, or OUTBOX_FULL (no
   * room now) or NO_MEMORY (larger than the whole ring: it never fits). Throws as writePublish.
   */
  _put(topic: Data, payload: Data | null, qos: number, retain: boolean): number {
    const buf = this._buf;
    const cap = buf.length;
    // Sized with the ring as the bound: a string whose length alone is too long is not scanned.
    const n = sizeOfPublish(topic, payload, qos, cap);
    if (n < 0) return n;
    if (this.count === this.max) return OUTBOX_FULL;
    // The bytes in use run in record order from the oldest record holding some to the newest.
    let first = -1;
    let last = -1;
    for (let k = 0; k < this.end; k++) {
      if (!this._len[k]) continue;
      if (first < 0) first = k;
      last = k;
    }
    let start = 0;
    if (first >= 0) {
      const a = this.at[first];
      const e = this.at[last] + this._len[last];
      // Not wrapped: room after the newest, else at the start before the oldest. Wrapped: between.
      start = this.at[last] >= a ? (e + n <= cap ? e : n <= a ? 0 : -1) : e + n <= a ? e : -1;
      if (start < 0) return OUTBOX_FULL;
    }
    const i = this.add(QUEUED);
    writePublish(buf, start, topic, payload, qos, retain, false, this.id[i]);
    this.at[i] = start;
    this._len[i] = n;
    this.count++;
    return i;
  }

  /** The record holding `id`, or -1. */
  find(id: number): number {
    for (let k = 0; k < this.end; k++) if (this.id[k] === id) return k;
    return -1;
  }

  /** Frees record i (and its bytes). */
  free(i: number): void {
    if (this._st[i] < SUB) this.count--;
    this.id[i] = this._st[i] = this._len[i] = 0;
    while (this.end && !this.id[this.end - 1]) this.end--;
  }
}
