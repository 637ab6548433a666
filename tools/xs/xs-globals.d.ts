// Globals of plain xsnap / xsnap-worker used by the entries in tools/xs/entries/.
declare function print(...args: unknown[]): void;
declare function gc(): void;
