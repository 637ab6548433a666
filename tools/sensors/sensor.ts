// A simulated temperature and humidity sensor for `npm start`: a random walk pulled toward the
// set-point of a heating cycle (warm for a while, then cool), so that the temperature wanders like a
// room's and crosses an alert threshold now and then rather than never or on every reading.

/** Rounds to one decimal, as a sensor driver would report. */
export function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export class SimSensor {
  /** °C and %RH of the last reading, and how many readings were taken. */
  t: number;
  h: number;
  seq = 0;
  private readonly halfCycle: number; // readings with the heating on (then as many with it off)
  private readonly phase: number;
  private readonly random: () => number;

  constructor(random: () => number = Math.random) {
    this.random = random;
    this.t = 20 + random() * 2;
    this.h = 40 + random() * 10;
    this.halfCycle = 15 + Math.floor(random() * 11);
    this.phase = Math.floor(random() * this.halfCycle); // devices do not cycle in step
  }

  /** Takes a reading: one step of the walk. */
  read(): void {
    this.seq++;
    const heating = Math.floor((this.seq + this.phase) / this.halfCycle) % 2 === 0;
    const setPoint = heating ? 27 : 19;
    this.t += 0.12 * (setPoint - this.t) + 0.3 * this.gauss();
    // Humidity drifts the other way from temperature, within what a room sees.
    this.h = Math.min(85, Math.max(15, this.h + 0.4 * this.gauss() - 0.03 * (this.t - 22) + 0.02 * (45 - this.h)));
  }

  /** A standard normal deviate (Box–Muller). */
  private gauss(): number {
    const u = 1 - this.random(); // (0, 1]: log(0) never happens
    const v = this.random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
}
