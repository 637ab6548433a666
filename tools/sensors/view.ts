// What `npm start` prints: a live view (a table redrawn in place on a terminal, a plain line every
// few seconds otherwise), log lines above it, and the summary at the end.
import type { Device } from './device.js';
import type { Seen } from './monitor.js';

/** One device as the device and the monitor saw it. */
export interface Row {
  device: Device;
  seen: Seen;
}

export interface Totals {
  telemetrySent: number;
  telemetryReceived: number;
  telemetryLost: number;
  telemetrySkipped: number;
  alertsSent: number;
  alertsAcked: number;
  alertsReceived: number;
  alertsLost: number;
  alertsRefused: number;
}

/** QoS 1 lost: alerts sent that the monitor never received. QoS 0 lost: likewise for telemetry. */
export function totals(rows: Row[]): Totals {
  const t: Totals = {
    telemetrySent: 0,
    telemetryReceived: 0,
    telemetryLost: 0,
    telemetrySkipped: 0,
    alertsSent: 0,
    alertsAcked: 0,
    alertsReceived: 0,
    alertsLost: 0,
    alertsRefused: 0,
  };
  for (const { device: d, seen: s } of rows) {
    t.telemetrySent += d.telemetrySent;
    t.telemetryReceived += s.telemetry;
    t.telemetryLost += Math.max(0, d.telemetrySent - s.telemetry);
    t.telemetrySkipped += d.telemetrySkipped;
    t.alertsSent += d.alertsSent;
    t.alertsAcked += d.alertsAcked;
    t.alertsReceived += s.alerts;
    t.alertsLost += Math.max(0, d.alertsSent - s.alerts);
    t.alertsRefused += d.alertsRefused;
  }
  return t;
}

/** Lays out cells in columns: 'l' left-aligned, anything else right-aligned. */
export function columns(cells: string[][], align: string): string[] {
  const widths: number[] = [];
  for (const row of cells) row.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return cells.map((row) => row.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
}

function num(x: number | null, digits = 1): string {
  return x === null ? '—' : x.toFixed(digits);
}

export function secs(ms: number): string {
  return (ms / 1000).toFixed(1) + ' s';
}

/** The live table (a terminal): a row per device, then the totals. Telemetry: sent/received; alerts: sent/acked/received. */
export function liveTable(rows: Row[], maxRows: number): string[] {
  const cells: string[][] = [['device', 'status', 't °C', 'h %', 'seq', 'every', 'telemetry', 'alerts', 'last alert']];
  const shown = rows.slice(0, Math.max(1, maxRows));
  for (const { device: d, seen: s } of shown) {
    cells.push([
      d.id,
      s.status,
      num(s.t),
      num(s.h),
      String(s.seq || '—'),
      `${d.intervalMs}ms`,
      `${d.telemetrySent}/${s.telemetry}`,
      `${d.alertsSent}/${d.alertsAcked}/${s.alerts}`,
      s.lastAlert || '—',
    ]);
  }
  if (shown.length < rows.length) cells.push([`+${rows.length - shown.length}`, 'more', '', '', '', '', '', '', '']);
  const t = totals(rows);
  cells.push(['total', '', '', '', '', '', `${t.telemetrySent}/${t.telemetryReceived}`, `${t.alertsSent}/${t.alertsAcked}/${t.alertsReceived}`, '']);
  return columns(cells, 'llrrrrrrl');
}

/** The live line (not a terminal): the totals, then each device's last reading and counts (the first few). */
export function liveLine(elapsedMs: number, rows: Row[]): string {
  const t = totals(rows);
  const parts = [
    `[${secs(elapsedMs).padStart(7)}] telemetry ${t.telemetrySent} sent / ${t.telemetryReceived} received, alerts ${t.alertsSent} sent / ${t.alertsAcked} acked / ${t.alertsReceived} received`,
  ];
  const few = 4;
  for (const { device: d, seen: s } of rows.slice(0, few)) {
    parts.push(`${d.id} ${num(s.t)}°C ${num(s.h)}% #${s.seq} ${d.telemetrySent}/${s.telemetry} a${d.alertsSent}/${d.alertsAcked}/${s.alerts}`);
  }
  if (rows.length > few) parts.push(`+${rows.length - few} more`);
  return parts.join(' | ');
}

/** The summary table: per device and in total. */
export function summaryTable(rows: Row[]): string[] {
  const cells: string[][] = [['device', 'sent', 'received', 'lost', 'sent', 'acked', 'received', 'lost']];
  for (const r of rows) {
    const t = totals([r]);
    cells.push([r.device.id, ...[t.telemetrySent, t.telemetryReceived, t.telemetryLost, t.alertsSent, t.alertsAcked, t.alertsReceived, t.alertsLost].map(String)]);
  }
  const t = totals(rows);
  cells.push(['total', ...[t.telemetrySent, t.telemetryReceived, t.telemetryLost, t.alertsSent, t.alertsAcked, t.alertsReceived, t.alertsLost].map(String)]);
  // Columns padded to fit their group's heading, which sits over them.
  const groups = ['telemetry (QoS 0)', 'alerts (QoS 1)'];
  const lines = columns(cells, 'lrrrrrrr');
  const head = lines[0];
  const at0 = head.indexOf('sent');
  const at1 = head.indexOf('sent', head.indexOf('lost'));
  lines.unshift(''.padEnd(at0) + groups[0].padEnd(Math.max(at1 - at0, groups[0].length + 2)) + groups[1]);
  return lines;
}

/**
 * Log lines and the live view on one output. On a terminal the table is redrawn in place and log
 * lines are written above it; elsewhere everything is appended.
 */
export class Screen {
  private shown = 0; // lines of the table now on the terminal
  private last: string[] = [];
  constructor(
    private readonly out: NodeJS.WriteStream,
    readonly tty: boolean,
  ) {}

  log(line: string): void {
    if (!this.tty) {
      this.out.write(line + '\n');
      return;
    }
    this.out.write(this.erase() + line + '\n' + this.draw(this.last));
  }

  /** Replaces the table (terminal only). */
  table(lines: string[]): void {
    this.last = lines;
    this.out.write(this.erase() + this.draw(lines));
  }

  /** Removes the table (terminal only); what follows is appended. */
  clear(): void {
    if (!this.tty) return;
    this.out.write(this.erase());
    this.last = [];
  }

  private erase(): string {
    const n = this.shown;
    this.shown = 0;
    return n ? `\x1b[${n}F\x1b[J` : ''; // to the start of the table's first line, then clear below
  }

  private draw(lines: string[]): string {
    // Lines longer than the terminal would wrap and break the count of lines to move back over.
    const width = Math.max(20, (this.out.columns || 120) - 1);
    this.shown = lines.length;
    return lines.map((l) => (l.length > width ? l.slice(0, width - 1) + '…' : l) + '\n').join('');
  }
}

/**
 * Ctrl-C or SIGTERM asks the run to stop (`requested` names the signal, `stopped` resolves); a
 * second one, a moment later, ends the process at once; `stop()` ends the run without a signal. (npm forwards the terminal's SIGINT to us,
 * so one Ctrl-C can arrive twice within milliseconds.) `unhook()` when the run is over.
 */
export function stopOnSignals(tool: string, abandoning: string): { requested: () => string; stopped: Promise<void>; stop: () => void; unhook: () => void } {
  let requested = '';
  let at = 0;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((r) => (wake = r));
  const onSignal = (sig: NodeJS.Signals) => {
    if (!requested) {
      requested = sig;
      at = performance.now();
      wake();
    } else if (performance.now() - at > 1000) {
      process.stderr.write(`\n${tool}: ${sig} again: exiting ${abandoning}\n`);
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    requested: () => requested,
    stopped,
    stop: () => wake(), // the end of the run's duration: stops it as a signal would, unnamed
    unhook: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}
