// A fixed table of outgoing packet ids in flight (coreMQTT keeps them in a caller's array; id 0
// marks a free slot). Ids come from a counter that wraps 65535 → 1 and skips ids still in use, so
// id 0 is never sent and no id is reused while its exchange is open [MQTT-2.3.1-1/2/4].
import { MAX_PACKET_ID } from '../codec/constants.js';
import { checkPacketId } from '../codec/encode.js';
import { rangeError, typeError } from '../codec/utf8.js';

export class InflightIds {
  // `declare`: assigned in the constructor. A plain declaration is also emitted as a class field
  // (ES2022 define semantics): bytes in the bundle for a property the constructor sets anyway.
  /** Slot i holds an id in flight, or 0 when free. */
  declare readonly ids: Uint16Array;
  /** Ids in flight. */
  count = 0;
  private _next = 1;

  constructor(window: number) {
    if (!(window >= 1 && window <= MAX_PACKET_ID)) rangeError('in-flight window must be 1..65535');
    this.ids = new Uint16Array(window);
  }

  /** Slot of `id`, or -1. */
  indexOf(id: number): number {
    const ids = this.ids;
    for (let i = 0; i < ids.length; i++) if (ids[i] === id) return i;
    return -1;
  }

  /** Takes the next free id (wrapping 65535 → 1, skipping ids in flight); 0 when the window is full. */
  acquire(): number {
    if (this.count === this.ids.length) return 0;
    let id: number;
    do {
      id = this._next;
      this._next = id === MAX_PACKET_ID ? 1 : id + 1;
    } while (this.indexOf(id) >= 0);
    this._take(id);
    return id;
  }

  /**
   * Marks a given id as in flight (restoring a session). Throws RangeError for id 0 or out of range,
   * TypeError for an id already in flight, RangeError when the window is full.
   */
  use(id: number): void {
    if (this.indexOf(checkPacketId(id)) >= 0) typeError('packet id ' + id + ' is already in flight');
    if (this.count === this.ids.length) rangeError('in-flight window full');
    this._take(id);
  }

  /** Frees `id`; false if it was not in flight (an unsolicited acknowledgement). */
  release(id: number): boolean {
    const i = id ? this.indexOf(id) : -1;
    if (i < 0) return false;
    this.ids[i] = 0;
    this.count--;
    return true;
  }

  private _take(id: number): void {
    this.ids[this.indexOf(0)] = id;
    this.count++;
  }
}
