// No timer rescheduled from inside its own callback (test/moddable-ecma419.test.ts). On lin (the
// simulator), modules/base/timer/lin/timer.c's modTimerExecuteOne adds a glib source of its own after
// the callback when the timer's first interval differs from its repeat, and so keeps the one
// Timer.schedule made inside the callback too: a second source that repeats for ever (at 0 ms: a
// spinning simulator), and that fires on the freed timer once the timer is cleared.
// 1. ModdableHost: a deferred task defers another (its ring timer ran again from inside its run).
// 2. ECMA-419's MQTT client class with a 1 s keepalive: its timer re-armed after each PINGREQ from
//    inside its callback; then close() (Timer.clear), and the app keeps running.
// config.part: "host" (1) or "class" (2), each a build of its own; the test reads the simulator's
// CPU time after each.
import MQTTClient from "embedded:network/mqtt/client";
import config from "mc/config";
import Timer from "timer";
import { ModdableHost } from "xs-mqtt/moddable";

let pings = 0;
if ("host" === config.part) {
	const host = new ModdableHost();
	host.defer(() => {
		trace("timers: first\n");
		host.defer(() => trace("timers: second\n"));
	});
}
else {
	trace("timers: connecting\n");
	new MQTTClient({
		host: config.broker,
		port: config.port,
		id: config.clientId,
		keepAlive: 1000,
		onControl(msg) {
			if (MQTTClient.CONNACK === msg.operation)
				trace("timers: connack\n");
			else if ((MQTTClient.PINGRESP === msg.operation) && (3 === ++pings)) {
				this.close();
				trace("timers: closed\n");
				let n = 0;
				Timer.repeat(id => {
					trace(`timers: alive ${++n}\n`);
					if (10 === n)
						Timer.clear(id);
				}, 300);
			}
		},
		onError() {
			trace("timers: error\n");
		}
	});
}
