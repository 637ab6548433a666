// `Resource` for the device app in xsnap: the resources a Moddable build links into flash (a
// manifest's "resources"), here the bytes tools/xs/device.mjs was given, by name. As on the device,
// a missing resource throws.
import { hexBytes } from './io.js';

const given = ((globalThis as any).xsDeviceResources ?? {}) as Record<string, string>;

export default class Resource {
  private bytes: Uint8Array;
  constructor(path: string) {
    const hex = given[path];
    if (hex === undefined) throw new Error('resource not found: ' + path);
    this.bytes = hexBytes(hex);
  }
  get byteLength(): number {
    return this.bytes.length;
  }
  slice(begin: number, end?: number): ArrayBuffer {
    return this.bytes.slice(begin, end).buffer;
  }
  static exists(path: string): boolean {
    return path in given;
  }
}
