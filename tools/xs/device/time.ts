// `time` for the device app in xsnap: Time.ticks is the tick tools/xs/device.mjs gives.
import { now } from './io.js';

export default {
  get ticks(): number {
    return now;
  },
};
