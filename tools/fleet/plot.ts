// `npm run fleet -- --plot FILE.svg`: the run in one picture, a self-contained SVG (no script, no
// external font or stylesheet, no charting library): the latency distribution on a log scale with
// its p50 and p99, and msgs/s over time (received, and sent). Opens in any browser.
import { Histogram, ms } from './histogram.js';

/** One progress tick: seconds into the run, and the rates over the second before it. */
export interface Sample {
  tS: number;
  received: number;
  sent: number;
}

const W = 900;
const H = 660;
const LEFT = 80;
const RIGHT = 30;
const PANEL_H = 220;
const TOP1 = 90; // the latency panel
const TOP2 = 400; // the rate panel
const COLOR = { bar: '#4c78a8', received: '#4c78a8', sent: '#f58518', p50: '#54a24b', p99: '#e45756', grid: '#ddd', axis: '#333' };

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Round steps for an axis from 0 to `max`: 1, 2 or 5 times a power of ten, about `n` of them. */
function ticks(max: number, n: number): number[] {
  if (!(max > 0)) return [0];
  const raw = max / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((k) => k * p).find((s) => s >= raw) ?? 10 * p;
  const out: number[] = [];
  // From 0 to the first step at or above max, so that the tallest mark stays inside the axis.
  for (let v = 0; out.length < 2 || out[out.length - 1] < max * 0.9999; v += step) out.push(+v.toPrecision(12));
  return out;
}

function short(v: number): string {
  if (v >= 1e6) return `${+(v / 1e6).toPrecision(3)}M`;
  if (v >= 1e3) return `${+(v / 1e3).toPrecision(3)}k`;
  return String(+v.toPrecision(3));
}

function text(x: number, y: number, s: string, o: { anchor?: string; size?: number; color?: string; weight?: string; halo?: boolean } = {}): string {
  // A halo (a white outline painted under the letters) keeps a label readable over bars and lines.
  const halo = o.halo ? ' stroke="#fff" stroke-width="4" stroke-linejoin="round" paint-order="stroke"' : '';
  return `<text x="${num(x)}" y="${num(y)}" font-size="${o.size ?? 12}" fill="${o.color ?? COLOR.axis}"${o.anchor ? ` text-anchor="${o.anchor}"` : ''}${o.weight ? ` font-weight="${o.weight}"` : ''}${halo}>${esc(s)}</text>`;
}

function latencyPanel(latency: Histogram): string[] {
  const out: string[] = [text(LEFT, TOP1 - 14, 'Latency, publish() → subscriber\'s handler (ms, log scale): share of messages', { size: 14, weight: 'bold' })];
  const bins = latency.bins(10);
  const plotW = W - LEFT - RIGHT;
  if (!bins.length) {
    out.push(text(LEFT + plotW / 2, TOP1 + PANEL_H / 2, 'no latency measured (no fleet payload received)', { anchor: 'middle', color: '#888' }));
    return out;
  }
  const lo = Math.log10(bins[0].loMs);
  const hi = Math.log10(bins[bins.length - 1].hiMs);
  const x = (vMs: number) => LEFT + ((Math.log10(vMs) - lo) / (hi - lo)) * plotW;
  const total = latency.count;
  const maxShare = Math.max(...bins.map((b) => b.count / total));
  const yTicks = ticks(maxShare * 100, 4);
  const yMax = yTicks[yTicks.length - 1] || 1;
  const y = (pct: number) => TOP1 + PANEL_H - (pct / yMax) * PANEL_H;
  for (const t of yTicks) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="${COLOR.grid}"/>`);
    out.push(text(LEFT - 6, y(t) + 4, `${short(t)}%`, { anchor: 'end' }));
  }
  for (const b of bins) {
    if (!b.count) continue;
    const pct = (b.count / total) * 100;
    out.push(
      `<rect x="${num(x(b.loMs) + 0.5)}" y="${num(y(pct))}" width="${num(Math.max(1, x(b.hiMs) - x(b.loMs) - 1))}" height="${num(TOP1 + PANEL_H - y(pct))}" fill="${COLOR.bar}">` +
        `<title>${esc(`${ms(b.loMs)}–${ms(b.hiMs)} ms: ${b.count} (${pct.toFixed(1)}%)`)}</title></rect>`,
    );
  }
  // Decade ticks (and 2 and 5 between them) on the x axis.
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const k of [1, 2, 5]) {
      const v = k * 10 ** e;
      const lv = Math.log10(v);
      if (lv < lo - 1e-9 || lv > hi + 1e-9) continue;
      out.push(`<line x1="${num(x(v))}" x2="${num(x(v))}" y1="${TOP1 + PANEL_H}" y2="${TOP1 + PANEL_H + 5}" stroke="${COLOR.axis}"/>`);
      out.push(text(x(v), TOP1 + PANEL_H + 18, ms(v), { anchor: 'middle' }));
    }
  }
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP1 + PANEL_H}" y2="${TOP1 + PANEL_H}" stroke="${COLOR.axis}"/>`);
  for (const [q, name, color, dy] of [[0.5, 'p50', COLOR.p50, 0], [0.99, 'p99', COLOR.p99, 16]] as const) {
    const v = latency.quantile(q);
    const right = x(v) > W - RIGHT - 110; // near the right edge: the label on the left of its line
    out.push(`<line x1="${num(x(v))}" x2="${num(x(v))}" y1="${TOP1}" y2="${TOP1 + PANEL_H}" stroke="${color}" stroke-width="2" stroke-dasharray="5,3"/>`);
    out.push(text(x(v) + (right ? -4 : 4), TOP1 + 12 + dy, `${name} ${ms(v)} ms`, { color, weight: 'bold', halo: true, anchor: right ? 'end' : undefined }));
  }
  out.push(text(W - RIGHT, TOP1 + PANEL_H + 36, `${total} messages; mean ${ms(latency.meanMs)} ms, max ${ms(latency.maxMs)} ms`, { anchor: 'end', color: '#555' }));
  return out;
}

function ratePanel(samples: Sample[], mode: string): string[] {
  const out: string[] = [text(LEFT, TOP2 - 14, 'Messages per second over time (each step: the second before it)', { size: 14, weight: 'bold' })];
  const series: Array<{ name: string; color: string; dash: string; values: number[] }> = [];
  if (mode !== 'pub') series.push({ name: 'received', color: COLOR.received, dash: '', values: samples.map((s) => s.received) });
  if (mode !== 'sub') series.push({ name: 'sent', color: COLOR.sent, dash: ' stroke-dasharray="6,4"', values: samples.map((s) => s.sent) });
  const plotW = W - LEFT - RIGHT;
  const tMax = Math.max(1, ...samples.map((s) => s.tS));
  const vMax = Math.max(1, ...series.flatMap((s) => s.values));
  const yTicks = ticks(vMax * 1.05, 4); // headroom: a steady rate is not drawn on the frame
  const yTop = yTicks[yTicks.length - 1] || 1;
  const x = (t: number) => LEFT + (t / tMax) * plotW;
  const y = (v: number) => TOP2 + PANEL_H - (v / yTop) * PANEL_H;
  for (const t of yTicks) {
    out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${num(y(t))}" y2="${num(y(t))}" stroke="${COLOR.grid}"/>`);
    out.push(text(LEFT - 6, y(t) + 4, short(t), { anchor: 'end' }));
  }
  for (const t of ticks(tMax, 8)) {
    out.push(`<line x1="${num(x(t))}" x2="${num(x(t))}" y1="${TOP2 + PANEL_H}" y2="${TOP2 + PANEL_H + 5}" stroke="${COLOR.axis}"/>`);
    out.push(text(x(t), TOP2 + PANEL_H + 18, `${short(t)} s`, { anchor: 'middle' }));
  }
  out.push(`<line x1="${LEFT}" x2="${W - RIGHT}" y1="${TOP2 + PANEL_H}" y2="${TOP2 + PANEL_H}" stroke="${COLOR.axis}"/>`);
  // Each sample is the rate over the second before it: a step from the previous sample's time.
  series.forEach((s, k) => {
    let d = `M${num(x(0))},${num(y(0))}`;
    let tPrev = 0;
    samples.forEach((p, i) => {
      d += ` L${num(x(tPrev))},${num(y(s.values[i]))} L${num(x(p.tS))},${num(y(s.values[i]))}`;
      tPrev = p.tS;
    });
    out.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dash}/>`);
    const lx = W - RIGHT - 190 + k * 100; // the legend, above the panel's top right corner
    const ly = TOP2 - 14;
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${s.color}" stroke-width="2"${s.dash}/>`);
    out.push(text(lx + 30, ly, s.name));
  });
  if (!samples.length) out.push(text(LEFT + plotW / 2, TOP2 + PANEL_H / 2, 'the run was shorter than a second', { anchor: 'middle', color: '#888' }));
  return out;
}

/** The SVG document for a run. */
export function plotSvg(o: { title: string; subtitle: string; latency: Histogram; samples: Sample[]; mode: string }): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    text(LEFT, 26, o.title, { size: 15, weight: 'bold' }),
    text(LEFT, 44, o.subtitle, { size: 12, color: '#555' }),
    ...(o.mode === 'pub' ? [text(LEFT, TOP1 + PANEL_H / 2, 'no latency in --mode pub: nothing is received', { color: '#888' })] : latencyPanel(o.latency)),
    ...ratePanel(o.samples, o.mode),
    '</svg>',
    '',
  ].join('\n');
}
