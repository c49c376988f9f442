import type { RawInputs } from './inputs.js'

// Every input has a maximum length, checked before anything else reads it: a runaway value (a
// whole file pasted into `host`) is refused in one short line instead of travelling into DNS
// lookups, regexes and error messages that would print it again. Messages give the length,
// never the value: some inputs are secrets.

const KiB = 1024

/** Characters allowed per input, with why. */
export const MAX_LENGTH: Record<string, number> = {
  // DNS caps a full host name at 253 characters; an IPv6 literal in brackets is far shorter.
  host: 253,
  // MAX_HOSTS lines of a host name, a port and a few fingerprints each.
  hosts: 32 * KiB,
  'canary-hosts': 16,
  'batch-size': 16,
  'all-or-nothing': 16,
  replicas: 16,
  'keep-previous': 16,
  maintenance: 16,
  canary: 16,
  'canary-duration': 16,
  'canary-max-5xx': 16,
  'canary-min-requests': 16,
  // A maintenance page is HTML written to a file on the host; 64 KiB leaves room for inline CSS
  // and a small inline image.
  'maintenance-page': 64 * KiB,
  'keep-releases': 16,
  // Counts of seconds and ports: a few digits, with room for leading zeros.
  port: 16,
  timeout: 16,
  'app-port': 16,
  'health-timeout': 16,
  'proxy-port': 16,
  'drain-timeout': 16,
  'lock-timeout': 16,
  'websocket-timeout': 16,
  'compression-level': 16,
  // useradd and most Linux tools stop at 32.
  username: 32,
  // An OpenSSH RSA key of 16384 bits, the largest ssh-keygen makes, is about 12.7 KiB of text.
  key: 16 * KiB,
  // OpenSSH reads a passphrase into a 1 KiB buffer.
  passphrase: KiB,
  // A fingerprint is 50 characters; this leaves room for twenty of them.
  fingerprint: KiB,
  // A known_hosts line of a 16384-bit RSA key is under 3 KiB; room for every key of a host, hashed
  // and plain, and many more.
  'known-hosts': 64 * KiB,
  // distribution/reference: a name of up to 255 characters, a tag of up to 128 and a sha256
  // digest (71): 455 in all.
  image: 512,
  'proxy-image': 512,
  // The service name becomes container names and DNS labels (validate.ts allows 50).
  service: 64,
  // Docker names are short; validate.ts allows 50.
  network: 64,
  // A URL path; 2 KiB is what browsers and proxies reliably pass.
  'health-path': 2 * KiB,
  // One nginx server_name line: a list of host names of up to 253 characters each.
  'server-name': 8 * KiB,
  // On Linux an environment variable (INPUT_ENV is one) holds at most 128 KiB (MAX_ARG_STRLEN),
  // so this refuses nothing a Linux runner can hand over, while bounding the env file that
  // travels in one remote step (as base64 on the remote shell's stdin).
  env: 256 * KiB,
  compression: 16,
  'layer-source': 16,
  // true or false, in any of YAML's spellings.
  rollback: 16,
  'access-log': 16,
  // The runtime inputs (runtime/). Seconds, sizes and switches: a few characters.
  'stop-timeout': 16,
  'release-timeout': 16,
  'worker-settle': 16,
  'release-on-rollback': 16,
  cpus: 16,
  // A size with its unit (512m, 1.5GiB).
  memory: 32,
  // A name or a 10-digit id, twice: user names stop at 32 characters (useradd).
  user: 80,
  // One word: a program's path, which Linux stops at 4096 (PATH_MAX).
  entrypoint: 4 * KiB,
  // A command line, not a script: the words travel to the host as arguments of the docker run
  // step; a longer script belongs in the image (or in a file that sh -c runs).
  command: 16 * KiB,
  'release-command': 16 * KiB,
  // Procfile-style lines, each a command line: room for dozens of workers.
  workers: 64 * KiB,
  // Two paths a line (host and container): room for dozens of mounts of long paths.
  volumes: 16 * KiB,
  // Labels can be long (Traefik rules, JSON): room for many, still a few screens.
  labels: 64 * KiB,
  // One flag a line, each value short (a size, a capability, a host:ip).
  options: 16 * KiB,
  // HTTPS. A mode, a port and a switch: a few characters.
  tls: 16,
  'https-port': 16,
  hsts: 16,
  // An address's longest path in SMTP (RFC 5321 4.5.3.1.3).
  'acme-email': 254,
  // A URL; 2 KiB is what clients reliably pass.
  'acme-directory': 2 * KiB,
  // PEM certificates run 1-2.5 KiB each (RSA 4096 included): room for a bundle of dozens, or a
  // chain far longer than any CA sends.
  'acme-ca-bundle': 64 * KiB,
  'tls-certificate': 64 * KiB,
  // An RSA key of 16384 bits in PEM is about 12.6 KiB; EC and RSA 2048-4096 keys are far shorter.
  'tls-private-key': 16 * KiB,
  // Words of a few letters: host or swarm; bluegreen or rolling.
  target: 16,
  'swarm-update': 16
}

/** Throws a message naming the first input longer than its maximum, with both lengths. */
export function checkLengths(raw: RawInputs): void {
  for (const [name, value] of Object.entries(raw)) {
    const max = MAX_LENGTH[name]
    if (max === undefined || value.length <= max) continue
    throw new Error(`${name}: ${value.length} characters, more than the ${max} allowed (value not shown)`)
  }
}
