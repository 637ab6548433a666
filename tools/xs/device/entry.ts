// The device app (examples/sensor/main.ts) as tools/xs/device.mjs runs it in xsnap-worker: the
// simulated I/O first, then the app, exactly as built for a board but for the modules mapped here.
import './io.js';
import '../../../examples/sensor/main.js';
