// src/tls against a real ACME CA: Debian's pebble (sandbox/pebble.sh), whose mock DNS sends every
// test name to 127.0.0.1, where an nginx container of the sandbox's host engine publishes the
// HTTP-01 port. Names, containers and ports: tls-test-*, 18400-18499.
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { connect } from 'node:tls'
import { join } from 'node:path'
import acme from 'acme-client'
import { AcmeError, obtainCertificate } from '../../src/tls/acme.js'
import { checkCertificate } from '../../src/tls/certificate.js'
import { facts } from '../../src/tls/certificate.js'
import { renewAll } from '../../src/tls/renew.js'
import { buildRenewImage, loadArchive, type RenewImage } from '../../src/tls/renew-image.js'
import { acmeLocation, certificateMap, PROXY_TLS_DIR, sslDirectives } from '../../src/tls/nginx.js'
import { certificateRecord, certPath, installCertificate, saveOrder, webroot, webrootChallenge } from '../../src/tls/store.js'
import { X509Certificate } from 'node:crypto'
import { dnsControl, ensurePebble, pebbleRoot, type PebbleInfo } from '../../sandbox/pebble.js'
import { hostDocker, mustHostDocker, runCommand } from '../../sandbox/sandbox.js'

const HTTP_PORT = 18480 // pebble validates here; the nginx containers publish their port 80 on it
const HTTPS_PORT = 18443
const DEAD_PORT = 18499 // nothing listens
const SILENT_PORT = 18498 // accepts and never answers
const NGINX_UID = 101 // the sandbox proxy image's (and nginx:alpine's) worker user
const TIMEOUT_MS = 120_000

let pebble: PebbleInfo
let root: string
const containers: string[] = []
const dirs: string[] = []
const images: string[] = []

beforeAll(async () => {
  pebble = await ensurePebble(HTTP_PORT)
  root = await pebbleRoot(pebble)
}, 300_000)

afterEach(async () => {
  if (containers.length) await hostDocker(['rm', '-f', ...containers.splice(0)])
})

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  for (const image of images) await hostDocker(['rmi', image])
}, TIMEOUT_MS)

async function tempTlsDir(): Promise<string> {
  const dir = await mkdtemp('/tmp/tls-test-')
  await chmod(dir, 0o755) // nginx workers read the webroot and certs below it
  dirs.push(dir)
  return dir
}

const until = async (what: string, check: () => Promise<boolean>, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await check().catch(() => false)) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`${what}: not within ${ms} ms`)
}

// Port 80 answers HTTP-01 from the webroot; 443 serves the service's file (through the map of
// src/tls/nginx.ts) to its own names, read per handshake.
const ID = 'tls-test'

function nginxConf(names: string[]): string {
  return `${certificateMap(ID, names)}
server {
    listen 80;
${acmeLocation()}
}
server {
    listen 443 ssl;
${sslDirectives(ID)}
    location / { return 200 "ok $ssl_server_name\\n"; }
}
`
}

async function startNginx(name: string, dir: string, names: string[] = []): Promise<void> {
  await writeFile(join(dir, 'nginx.conf'), nginxConf(names))
  await runCommand('mkdir', ['-p', join(dir, 'certs'), webroot(dir)])
  containers.push(name)
  await mustHostDocker([
    'run', '-d', '--name', name, '-p', `${HTTP_PORT}:80`, '-p', `${HTTPS_PORT}:443`,
    '-v', `${join(dir, 'nginx.conf')}:/etc/nginx/conf.d/default.conf:ro`, '-v', `${dir}:${PROXY_TLS_DIR}:ro`,
    'nginx:alpine'
  ])
  await until(`nginx ${name} on port ${HTTP_PORT}`, async () => (await fetch(`http://127.0.0.1:${HTTP_PORT}/`, { signal: AbortSignal.timeout(1000) })).status > 0)
}

/** Serial of the certificate served for `name` on the HTTPS port, verified against pebble's root. */
function servedSerial(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: HTTPS_PORT, servername: name, ca: root, timeout: 5000 }, () => {
      const serial = socket.getPeerCertificate().serialNumber.toLowerCase().replace(/^0+/, '')
      socket.end()
      resolve(serial)
    })
    socket.on('timeout', () => socket.destroy(new Error(`TLS to ${name}: no handshake in 5 s`)))
    socket.on('error', reject)
  })
}

/** The public key of the certificate served for `name`, as hex. */
function servedPublicKey(name: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: HTTPS_PORT, servername: name, ca: root, timeout: 5000 }, () => {
      const key = socket.getPeerCertificate().pubkey?.toString('hex') ?? ''
      socket.end()
      resolve(key)
    })
    socket.on('timeout', () => socket.destroy(new Error(`TLS to ${name}: no handshake in 5 s`)))
    socket.on('error', reject)
  })
}

async function nginxProcesses(name: string): Promise<string> {
  const out = await mustHostDocker(['exec', name, 'sh', '-c', 'for p in /proc/[0-9]*; do tr "\\0" " " < $p/cmdline; echo " ${p#/proc/}"; done | grep "^nginx" | sort'])
  return out.stdout.trim()
}

test('issues a certificate for two names through the HTTP-01 answers a real nginx serves', async () => {
  const dir = await tempTlsDir()
  await startNginx('tls-test-challenge', dir)
  const names = ['www.tls-test.example', 'api.tls-test.example']
  const got = await obtainCertificate({ directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names, challenge: webrootChallenge(dir), email: 'ops@tls-test.example', timeoutMs: 60_000 })
  const facts = checkCertificate({ chainPem: got.certificatePem, rootsPem: root, names })
  expect(facts.serial).toBe(got.serial)
  expect(facts.names.sort()).toEqual([...names].sort())
  expect(got.notAfter.getTime() - Date.now()).toBeGreaterThan(89 * 86_400_000) // pebble.sh: 90 days, as Let's Encrypt
  // Pebble fetched both tokens from nginx (three times each: it validates from several
  // "perspectives" at once, as Let's Encrypt does); the challenge files are gone afterwards.
  const log = (await mustHostDocker(['logs', 'tls-test-challenge'])).stdout
  const tokens = [...log.matchAll(/GET \/.well-known\/acme-challenge\/(\S+) HTTP\/1.1" 200/g)].map((m) => m[1])
  expect(new Set(tokens).size).toBe(2)
  expect(await readdir(join(webroot(dir), '.well-known/acme-challenge'))).toEqual([])
  // The chain is pebble's, not the HTTPS CA's; the account key comes back for reuse.
  expect(() => checkCertificate({ chainPem: got.certificatePem, rootsPem: pebble.caBundle, names })).toThrow(/the chain does not verify/)
  const again = await obtainCertificate({ directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names: names.slice(0, 1), accountKeyPem: got.accountKeyPem, challenge: webrootChallenge(dir) })
  expect(again.accountUrl).toBe(got.accountUrl)
  expect(again.serial).not.toBe(got.serial)
}, TIMEOUT_MS)

test('an account key the CA does not know (pebble forgets accounts when it restarts) gets a new account', async () => {
  const dir = await tempTlsDir()
  await startNginx('tls-test-account', dir)
  const unknownKey = (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
  const got = await obtainCertificate({ directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names: ['acct.tls-test.example'], accountKeyPem: unknownKey, challenge: webrootChallenge(dir) })
  expect(got.accountKeyPem).toBe(unknownKey)
  expect(got.accountUrl).toMatch(/^https:\/\/127.0.0.1:18400\//)
}, TIMEOUT_MS)

test("a refused identifier quotes the CA's problem type and detail", async () => {
  const name = `x.${pebble.blockedDomain}`
  const error = await obtainCertificate({ directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names: [name], challenge: webrootChallenge('/nonexistent') }).catch((e: unknown) => e)
  expect(error).toBeInstanceOf(AcmeError)
  expect((error as AcmeError).message).toBe(
    `ACME ordering a certificate for ${name}: the CA answered 400 urn:ietf:params:acme:error:rejectedIdentifier: ` +
      `Order included an identifier for which issuance is forbidden by policy: "${name}"`
  )
  expect((error as AcmeError).problem?.type).toBe('urn:ietf:params:acme:error:rejectedIdentifier')
}, TIMEOUT_MS)

test('a name the CA cannot resolve, and a challenge nobody serves, fail with what the CA saw', async () => {
  const dir = await tempTlsDir()
  await startNginx('tls-test-faults', dir)
  const broken = 'broken.tls-test.example'
  await dnsControl(pebble, '/set-servfail', { host: broken })
  const options = { directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, challenge: webrootChallenge(dir), timeoutMs: 30_000 }
  await expect(obtainCertificate({ ...options, names: [broken] })).rejects.toThrow(
    new RegExp(`could not validate ${broken} \\(http-01\\): urn:ietf:params:acme:error:connection: .*could not resolve`)
  )
  // A challenge that answers 404 (the file is not where the CA looks).
  const lost = { put: async () => undefined, remove: async () => undefined }
  await expect(obtainCertificate({ ...options, names: ['lost.tls-test.example'], challenge: lost })).rejects.toThrow(
    /could not validate lost.tls-test.example \(http-01\): urn:ietf:params:acme:error:unauthorized: .*returned 404/
  )
}, TIMEOUT_MS)

test('a CA that is not running, or never answers, fails clearly within the bounds', async () => {
  const names = ['www.tls-test.example']
  const challenge = webrootChallenge('/nonexistent')
  let started = Date.now()
  await expect(obtainCertificate({ directoryUrl: `https://127.0.0.1:${DEAD_PORT}/dir`, names, challenge, timeoutMs: 20_000 })).rejects.toThrow(
    `could not reach https://127.0.0.1:${DEAD_PORT}/dir (acme-directory): connect ECONNREFUSED 127.0.0.1:${DEAD_PORT}`
  )
  expect(Date.now() - started).toBeLessThan(10_000) // two retries, 1 and 2 s apart
  const silent: Server = createServer(() => undefined) // accepts, never answers the TLS hello
  await new Promise<void>((resolve) => silent.listen(SILENT_PORT, '127.0.0.1', resolve))
  try {
    started = Date.now()
    await expect(
      obtainCertificate({ directoryUrl: `https://127.0.0.1:${SILENT_PORT}/dir`, names, challenge, requestTimeoutMs: 1500, timeoutMs: 6000 })
    ).rejects.toThrow(`could not reach https://127.0.0.1:${SILENT_PORT}/dir (acme-directory): timeout of 1500ms exceeded`)
    expect(Date.now() - started).toBeLessThan(8000)
  } finally {
    silent.close()
  }
  // pebble's HTTPS without its CA bundle: the error names acme-ca-bundle.
  await expect(obtainCertificate({ directoryUrl: pebble.directoryUrl, names, challenge })).rejects.toThrow(/not trusted .*acme-ca-bundle/)
}, TIMEOUT_MS)

test('renewal replaces the served certificate (new serial) while nginx keeps serving, without a reload', async () => {
  const dir = await tempTlsDir()
  const names = ['shop.tls-test.example', 'www.shop.tls-test.example']
  await startNginx('tls-test-renew', dir, names)
  await saveOrder(dir, { id: ID, names, directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle })
  const owner = { uid: NGINX_UID, gid: NGINX_UID }
  const first = await renewAll({ dir, owner, extraRootsPem: root })
  expect(first).toEqual([expect.objectContaining({ action: 'renewed' })])
  const serial1 = (first[0] as { serial: string }).serial
  expect(await servedSerial(names[0])).toBe(serial1)
  expect(await servedSerial(names[1])).toBe(serial1)
  // The map: an upper-case SNI finds the file, a path in the SNI finds nothing.
  expect(await servedSerial(names[0].toUpperCase())).toBe(serial1)
  await expect(servedSerial(`../certs/${names[0]}`)).rejects.toThrow(/alert internal error/)
  // Today it is kept; 70 days on (20 left) it is renewed, while handshakes go on.
  expect((await renewAll({ dir, owner, extraRootsPem: root }))[0].action).toBe('kept')
  const processes = await nginxProcesses('tls-test-renew')
  const key1 = await servedPublicKey(names[0])
  let handshakes = 0
  const failures: string[] = []
  let stop = false
  const load = (async () => {
    while (!stop) await servedSerial(names[0]).then(() => handshakes++, (error: Error) => failures.push(error.message))
  })()
  const later = new Date(Date.now() + 70 * 86_400_000)
  const second = await renewAll({ dir, owner, extraRootsPem: root, now: () => later })
  stop = true
  await load
  expect(second).toEqual([expect.objectContaining({ action: 'renewed' })])
  const serial2 = (second[0] as { serial: string }).serial
  expect(serial2).not.toBe(serial1)
  expect(await servedSerial(names[0])).toBe(serial2)
  expect(await servedSerial(names[1])).toBe(serial2)
  expect({ handshakes: handshakes > 5, failures }).toEqual({ handshakes: true, failures: [] })
  // For the same key: nginx reads a handshake's certificate and key in two opens of the file, and
  // a new key could pair the old certificate with it (an "internal error" alert) mid-swap.
  expect(await servedPublicKey(names[0])).toBe(key1)
  expect(await nginxProcesses('tls-test-renew')).toBe(processes) // same master and workers: no reload
  const mode = await runCommand('stat', ['-c', '%a %u', certPath(dir, ID)])
  expect(mode.stdout.trim()).toBe(`600 ${NGINX_UID}`)
}, TIMEOUT_MS)

test("a certificate due for renewal, from pebble honouring the order's notAfter, is renewed by the next pass", async () => {
  const dir = await tempTlsDir()
  const names = ['due.tls-test.example']
  await startNginx('tls-test-due', dir, names)
  const notAfter = new Date(Math.floor(Date.now() / 1000) * 1000 + 10 * 86_400_000)
  const short = await obtainCertificate({ directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle, names, challenge: webrootChallenge(dir), notAfter })
  expect(short.notAfter.toISOString()).toBe(notAfter.toISOString())
  const record = certificateRecord(ID, names, facts(new X509Certificate(short.certificatePem)), 'auto', pebble.directoryUrl)
  await installCertificate(dir, record, short.keyPem, short.certificatePem, { key: { uid: NGINX_UID, gid: NGINX_UID } })
  await saveOrder(dir, { id: ID, names, directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle })
  expect(await servedSerial(names[0])).toBe(short.serial)
  const [outcome] = await renewAll({ dir, owner: { uid: NGINX_UID, gid: NGINX_UID }, extraRootsPem: root })
  expect(outcome).toEqual(expect.objectContaining({ action: 'renewed' }))
  expect(await servedSerial(names[0])).toBe((outcome as { serial: string }).serial)
}, TIMEOUT_MS)

test("a key file only root may read fails the handshake: nginx's workers read it, so it belongs to them", async () => {
  const dir = await tempTlsDir()
  const names = ['owner.tls-test.example']
  await startNginx('tls-test-owner', dir, names)
  await saveOrder(dir, { id: ID, names, directoryUrl: pebble.directoryUrl, caBundle: pebble.caBundle })
  expect((await renewAll({ dir, extraRootsPem: root }))[0].action).toBe('renewed') // no owner: root 0600
  await expect(servedSerial(names[0])).rejects.toThrow()
  const log = (await mustHostDocker(['logs', 'tls-test-owner'])).stderr
  expect(log).toMatch(/cannot load certificate .*tls-test.pem.*Permission denied/)
}, TIMEOUT_MS)

test("the renewal image loads into the host engine without a runner engine; 'once' renews under the store's lock, and waits for a pass that holds it", async () => {
  const dir = await tempTlsDir()
  const names = ['box.tls-test.example']
  await startNginx('tls-test-renewer', dir, names)
  // Bundled afresh (~15 s): dist/renew may be older than src when this file runs alone.
  const image = await loadImage(await readFile(await bundleRenewScript()))
  // acme-ca-bundle trusts pebble's HTTPS and, here, its issuing root for the chain check.
  await saveOrder(dir, { id: ID, names, directoryUrl: pebble.containerDirectoryUrl, caBundle: pebble.caBundle + root })
  await writeFile(join(dir, 'lock'), '')
  const once = (env: string[] = []) => hostDocker([
    'run', '--rm', '--read-only', '--cap-drop', 'ALL', '--cap-add', 'CHOWN', '--cap-add', 'DAC_OVERRIDE', '--security-opt', 'no-new-privileges',
    '-v', `${dir}:${dir}`, '-e', `BLUEGREEN_TLS_DIR=${dir}`, '-e', `BLUEGREEN_TLS_OWNER=${NGINX_UID}:${NGINX_UID}`, ...env.flatMap((e) => ['-e', e]), image.tag, 'once'
  ], { timeoutMs: 120_000 })
  // Another pass holds the lock: this one waits its BLUEGREEN_RENEW_LOCK_SECONDS, then skips.
  const holder = runCommand('flock', [join(dir, 'lock'), 'sleep', '4'])
  await new Promise((resolve) => setTimeout(resolve, 300))
  const skipped = await once(['BLUEGREEN_RENEW_LOCK_SECONDS=1'])
  expect({ code: skipped.code, out: skipped.stdout }).toEqual({ code: 75, out: expect.stringContaining("the store's lock stayed taken for 1 s") })
  await holder
  const renewed = await once()
  expect(renewed.code).toBe(0)
  const serial = await servedSerial(names[0])
  expect(renewed.stdout).toContain(`box.tls-test.example: renewed, serial ${serial}`)
  const mode = await runCommand('stat', ['-c', '%a %u', certPath(dir, ID)])
  expect(mode.stdout.trim()).toBe(`600 ${NGINX_UID}`)
}, 240_000)

async function loadImage(script: Buffer): Promise<RenewImage> {
  const image = await buildRenewImage(script)
  images.push(image.tag)
  const chunks: Buffer[] = []
  for await (const chunk of loadArchive(image)) chunks.push(chunk as Buffer)
  const loaded = await mustHostDocker(['load'], { input: Buffer.concat(chunks), timeoutMs: 120_000 })
  expect(loaded.stdout).toContain(`Loaded image: ${image.tag}`)
  const id = await mustHostDocker(['image', 'inspect', '-f', '{{.Id}}', image.tag])
  expect(id.stdout.trim()).toBe(image.imageId) // the archive is the image the runner computed
  return image
}

async function bundleRenewScript(): Promise<string> {
  const out = await tempTlsDir()
  const result = await runCommand('npx', ['ncc', 'build', 'src/renew.ts', '-o', out], { timeoutMs: 180_000 })
  if (result.code !== 0) throw new Error(`ncc build src/renew.ts failed: ${result.stderr}`)
  return join(out, 'index.js')
}
