// `xs-mqtt`: the command-line tools, `xs-mqtt pub` and `xs-mqtt sub`, modelled on mosquitto_pub and
// mosquitto_sub and built on the library's Client and the Node host. tools/cli/xs-mqtt.mjs runs
// main(): from dist/cli.js when built, else bundled from this file with esbuild on the fly.
import { EXIT_OK, EXIT_USAGE } from './common.js';
import { PUB_USAGE, runPub } from './pub.js';
import { SUB_USAGE, runSub } from './sub.js';

export { PUB_USAGE, SUB_USAGE };

export const USAGE = `Usage: xs-mqtt pub [options] -t TOPIC (-m TEXT | -f FILE | -l | -s | -n)
       xs-mqtt sub [options] -t FILTER [-t FILTER …]

MQTT 3.1.1 command-line tools on the xs-mqtt client, modelled on mosquitto_pub and mosquitto_sub:
  pub    publish a message, each line of stdin, or all of stdin (QoS 0 or 1)
  sub    subscribe and print the messages that arrive (QoS 0, 1 or 2)

xs-mqtt pub --help and xs-mqtt sub --help list every option; xs-mqtt --version prints the version.
For example:
  xs-mqtt sub -h broker.local -t 'devices/+/telemetry' -v
  xs-mqtt pub -h broker.local -t devices/dev-1/cmd/interval -m 500 -q 1
  xs-mqtt pub -L mqtts://user:secret@broker.example:8883/alerts --cafile ca.pem -l < alerts.txt
`;

/**
 * Runs the command line `argv` (without node and the script); resolves to the exit status.
 * `version`: the package's, which the bin reads from package.json.
 */
export async function main(argv: string[], version = ''): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || ((command === 'pub' || command === 'sub') && rest.length === 1 && rest[0] === '--version')) {
    process.stdout.write(`xs-mqtt ${version || '(version unknown: no package.json beside the bin)'}\n`);
    return EXIT_OK;
  }
  if (command === 'pub') return runPub(rest);
  if (command === 'sub') return runSub(rest);
  if (command === '--help' || command === 'help') {
    process.stdout.write(USAGE);
    return EXIT_OK;
  }
  process.stderr.write(
    command === undefined ? USAGE : `xs-mqtt: unknown command ${JSON.stringify(command)}: want pub or sub (xs-mqtt --help)\n`,
  );
  return EXIT_USAGE;
}
