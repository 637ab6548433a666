// Throw-away certificates for TLS tests, made with `openssl` at test time (never committed, never
// expired): a CA, a server certificate it signed for `localhost` and 127.0.0.1, a client certificate
// for mutual TLS, and a second, unrelated CA with its own client certificate, so that tests can show
// that a certificate from another CA is refused in either direction.
// EC P-256 keys: a key takes milliseconds to make, where RSA 2048 takes a noticeable fraction of a second.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Pki {
  caPem: string;
  /** The broker's certificate (SAN DNS:localhost, IP:127.0.0.1, signed by the CA) and key. */
  serverCertPem: string;
  serverKeyPem: string;
  /** Signed by the CA: accepted by a broker that requires client certificates. CN `xs-mqtt-client`. */
  clientCertPem: string;
  clientKeyPem: string;
  /** An unrelated CA: trusting only it must refuse the broker's certificate. */
  otherCaPem: string;
  /** Signed by the other CA: a broker requiring client certificates must refuse it. */
  otherClientCertPem: string;
  otherClientKeyPem: string;
}

export const CLIENT_CN = 'xs-mqtt-client';

// One config for every step: extensions are spelled out, so the result does not depend on the
// distribution's openssl.cnf (Debian's adds its own v3_ca defaults).
const CONFIG = `
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ca_ext_aki]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[server_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[client_ext]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
`;

const cached: Record<string, Pki> = {};

function openssl(dir: string, args: string[]): void {
  try {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], timeout: 30000 });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args.join(' ')} failed: ${e.stderr?.toString() || e.message}`);
  }
}

/**
 * The test PKI, made once per process on first use and kept in memory only: its work folder is
 * removed at once (a test worker may be killed without running exit handlers), and a broker writes
 * the files it needs into its own folder.
 */
export function testPki(kind: 'ec' | 'rsa' = 'ec'): Pki {
  if (cached[kind]) return cached[kind];
  const dir = mkdtempSync(join(tmpdir(), 'xs-mqtt-pki-'));
  try {
    writeFileSync(join(dir, 'openssl.cnf'), CONFIG);
    // RSA for Moddable's TLS (its ssl/* verifies RSA chains; test/moddable.test.ts), EC elsewhere.
    // Its CA carries an authorityKeyIdentifier (its own key id): Moddable's TLS (SDK 8.2.3) aborts
    // the VM ("XS abort: unhandled exception") verifying a chain whose trusted CA has none.
    const key = kind === 'rsa' ? ['-newkey', 'rsa:2048', '-nodes'] : ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
    const ca = (name: string, cn: string) =>
      openssl(dir, ['req', '-x509', '-new', '-config', 'openssl.cnf', '-extensions', kind === 'rsa' ? 'ca_ext_aki' : 'ca_ext', ...key,
        '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '3650', '-subj', `/CN=${cn}`]);
    let serial = 1;
    const leaf = (name: string, cn: string, caName: string, ext: string) => {
      openssl(dir, ['req', '-new', '-config', 'openssl.cnf', ...key, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`]);
      openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', `${caName}.crt`, '-CAkey', `${caName}.key`,
        '-set_serial', String(serial++), '-days', '3650', '-extfile', 'openssl.cnf', '-extensions', ext, '-out', `${name}.crt`]);
    };
    ca('ca', 'xs-mqtt test CA');
    leaf('server', 'localhost', 'ca', 'server_ext');
    leaf('client', CLIENT_CN, 'ca', 'client_ext');
    ca('other-ca', 'xs-mqtt unrelated CA');
    leaf('other-client', CLIENT_CN, 'other-ca', 'client_ext');
    const read = (f: string) => readFileSync(join(dir, f), 'utf8');
    cached[kind] = {
      caPem: read('ca.crt'),
      serverCertPem: read('server.crt'),
      serverKeyPem: read('server.key'),
      clientCertPem: read('client.crt'),
      clientKeyPem: read('client.key'),
      otherCaPem: read('other-ca.crt'),
      otherClientCertPem: read('other-client.crt'),
      otherClientKeyPem: read('other-client.key'),
    };
    return cached[kind];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
