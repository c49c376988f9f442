import * as core from '@actions/core'
import { defaultServiceName, parseImageRef } from './image/ref.js'
import { normalFingerprint } from './ssh/hostkey.js'
import { parseHosts, type HostTarget } from './rollout/targets.js'
import { checkLengths } from './limits.js'
import { validateInputs } from './validate.js'
import { parseCommand, parseRuntime, parseSeconds, parseWorkers } from './runtime/inputs.js'
import type { RuntimeSpec, Worker } from './runtime/spec.js'
import { parseTls, type TlsSpec } from './tls/inputs.js'

export type Compression = 'auto' | 'zstd' | 'gzip' | 'none'
export type LayerSource = 'auto' | 'docker-save'

/** Where the app runs: containers on one host (or each of `hosts`), or services of a Docker Swarm. */
export type Target = 'host' | 'swarm'

/** How a Swarm gets the new version: two services behind the action's proxy, or Swarm's own rolling update. */
export type SwarmUpdate = 'bluegreen' | 'rolling'

export interface EnvVar {
  name: string
  value: string
}

/** Every input of action.yml, parsed. Names follow action.yml. */
export interface Inputs {
  /** host: containers on each server; swarm: `host` is a Swarm manager, the app runs as services. */
  target: Target
  /** One server (with swarm: the manager); empty when `hosts` lists several. */
  host: string
  /** Several servers (rollout/targets.ts); with swarm, the nodes' SSH addresses. Empty for `host`. */
  hosts: HostTarget[]
  /** How many of `hosts` go live first, alone. */
  canaryHosts: number
  /** Hosts switched at once after the canaries; 0: all the rest together. */
  batchSize: number
  /** A failure on any host sends every host that switched back. */
  allOrNothing: boolean
  /** Containers per slot, behind the proxy. */
  replicas: number
  /** What happens to the replaced slot: stopped (default), or running, drained, for an instant rollback. */
  keepPrevious: 'stopped' | 'running'
  port: number
  username: string
  key: string
  passphrase: string
  fingerprints: string[]
  knownHosts: string
  timeout: number
  /** Empty only when rolling back to the recorded previous release. */
  image: string
  service: string
  /** Undefined: take the single port the image EXPOSEs. */
  appPort?: number
  healthPath: string
  healthTimeout: number
  proxyPort: number
  proxyImage: string
  network: string
  serverNames: string[]
  env: EnvVar[]
  drainTimeout: number
  /** Seconds an upgraded (WebSocket) connection through the proxy may stay idle. */
  websocketTimeout: number
  /** The proxy logs each request of the service to its stdout. */
  accessLog: boolean
  lockTimeout: number
  compression: Compression
  compressionLevel?: number
  /** auto: the runner's Docker store where it can be read (image/store.ts); docker-save: always docker save. */
  layerSource: LayerSource
  rollback: boolean
  /** How many releases back a rollback goes (rollback: true is 1). */
  rollbackSteps: number
  /** Images of this many releases stay on the host. */
  keepReleases: number
  /** How the app's containers run: volumes, command, user, limits, labels, options (runtime/). */
  runtime: RuntimeSpec
  /** Runs once in a container of the new image before it starts; undefined: no release step. */
  releaseCommand?: string[]
  releaseTimeout: number
  /** The release step runs on a rollback too. */
  releaseOnRollback: boolean
  workers: Worker[]
  /** Seconds a new worker must keep running to count as started. */
  workerSettle: number
  /** Turns the service's maintenance page on or off (a step of its own, with no image); undefined: unchanged. */
  maintenance?: 'on' | 'off'
  /** The HTML served in maintenance; empty: the default page. */
  maintenancePage: string
  /** Percent of clients the candidate gets first, next to the live slot; 0: switch at once. */
  canary: number
  /** Seconds the canary is watched before it is promoted. */
  canaryDuration: number
  /** Percentage points of 5xx answers the candidate may have above the live slot's. */
  canaryMax5xx: number
  /** Requests the candidate must have answered for the canary to be judged at all. */
  canaryMinRequests: number
  /** HTTPS through the proxy: off, auto (ACME) or custom (a certificate from secrets). */
  tls: TlsSpec
  /** With swarm: blue-green behind the action's proxy, or a rolling update of a service of yours. */
  swarmUpdate: SwarmUpdate
}

/** Raw input text by action.yml name. */
export type RawInputs = Record<string, string>

export const INPUT_NAMES = [
  'host', 'hosts', 'canary-hosts', 'batch-size', 'all-or-nothing', 'port', 'username', 'key', 'passphrase', 'fingerprint', 'known-hosts', 'timeout',
  'image', 'service', 'app-port', 'health-path', 'health-timeout', 'proxy-port', 'proxy-image',
  'network', 'server-name', 'env', 'drain-timeout', 'websocket-timeout', 'access-log', 'lock-timeout', 'compression',
  'compression-level', 'layer-source', 'rollback', 'volumes', 'command', 'entrypoint', 'user', 'memory', 'cpus', 'labels',
  'stop-timeout', 'options', 'replicas', 'keep-previous', 'keep-releases', 'release-command', 'release-timeout', 'release-on-rollback', 'workers', 'worker-settle',
  'maintenance', 'maintenance-page', 'canary', 'canary-duration', 'canary-max-5xx', 'canary-min-requests',
  'tls', 'acme-email', 'acme-directory', 'acme-ca-bundle', 'tls-certificate', 'tls-private-key', 'https-port', 'hsts',
  'target', 'swarm-update'
] as const

const DEFAULTS: RawInputs = {
  port: '22', 'canary-hosts': '1', 'batch-size': '0', 'all-or-nothing': 'true', username: 'root', timeout: '20', 'health-path': '/', 'health-timeout': '60',
  'proxy-port': '80', 'proxy-image': 'nginx:alpine', network: 'bluegreen', 'drain-timeout': '30', 'websocket-timeout': '3600', 'access-log': 'false',
  'lock-timeout': '300', compression: 'auto', 'layer-source': 'auto', rollback: 'false', 'release-timeout': '300',
  'release-on-rollback': 'false', 'worker-settle': '5', replicas: '1', 'keep-previous': 'stopped', 'keep-releases': '5',
  canary: '0', 'canary-duration': '60', 'canary-max-5xx': '1', 'canary-min-requests': '20',
  tls: 'off', 'https-port': '443', hsts: 'false', target: 'host', 'swarm-update': 'bluegreen'
}

/** Reads the step's inputs, masks the secrets at once, then parses and validates them. */
export function getInputs(): Inputs {
  const raw: RawInputs = {}
  for (const name of INPUT_NAMES) {
    // Multi-line values (key, env, known-hosts, PEM, a page) keep their inner layout.
    raw[name] = core.getInput(name, { trimWhitespace: name !== 'env' && name !== 'maintenance-page' })
  }
  maskSecrets(raw)
  forgetSecretInputs()
  return parseInputs(raw)
}

/** Inputs that hold secrets: the key, its passphrase, the app's environment and the TLS key. */
const SECRET_INPUTS = ['key', 'passphrase', 'env', 'tls-private-key']

/**
 * Read once, the secret inputs leave this process's environment, so no process started later
 * inherits them (the docker CLI gets a picked environment anyway: image/child-env.ts).
 */
function forgetSecretInputs(): void {
  // The runner's naming, as core.getInput reads it.
  for (const name of SECRET_INPUTS) delete process.env[`INPUT_${name.replace(/ /g, '_').toUpperCase()}`]
}

function maskSecrets(raw: RawInputs): void {
  for (const name of ['key', 'passphrase', 'tls-private-key']) {
    const value = raw[name]
    if (!value) continue
    core.setSecret(value)
    // The runner masks line by line, so a multi-line key needs each line registered.
    for (const line of value.split(/\r?\n/)) if (line.trim().length > 8) core.setSecret(line.trim())
  }
}

/** Turns raw input text into typed Inputs; throws a message naming the input on bad text. */
export function parseInputs(given: RawInputs): Inputs {
  checkLengths(given)
  const raw = { ...DEFAULTS, ...withoutEmpty(given) }
  const text = (name: string): string => (raw[name] ?? '').trim()
  const rollbackSteps = parseRollback(text('rollback'))
  const rollback = rollbackSteps > 0
  const image = text('image')
  const maintenance = parseMaintenance(text('maintenance'))
  const inputs: Omit<Inputs, 'tls'> = {
    target: text('target').toLowerCase() as Target,
    host: text('host'),
    hosts: parseHosts(raw.hosts ?? '', parseInteger('port', text('port'))),
    canaryHosts: parseInteger('canary-hosts', text('canary-hosts')),
    batchSize: parseInteger('batch-size', text('batch-size')),
    allOrNothing: parseBoolean('all-or-nothing', text('all-or-nothing')),
    replicas: parseInteger('replicas', text('replicas')),
    keepPrevious: text('keep-previous') as Inputs['keepPrevious'],
    port: parseInteger('port', text('port')),
    username: text('username'),
    key: (raw.key ?? '').trim(),
    passphrase: raw.passphrase ?? '',
    fingerprints: text('fingerprint').split(/[\s,]+/).filter(Boolean).map(normalFingerprint),
    knownHosts: raw['known-hosts'] ?? '',
    timeout: parseInteger('timeout', text('timeout')),
    image,
    service: text('service') || serviceFromImage(image, rollback || maintenance !== undefined),
    appPort: text('app-port') ? parseInteger('app-port', text('app-port')) : undefined,
    healthPath: text('health-path'),
    healthTimeout: parseInteger('health-timeout', text('health-timeout')),
    proxyPort: parseInteger('proxy-port', text('proxy-port')),
    proxyImage: text('proxy-image'),
    network: text('network'),
    serverNames: text('server-name').split(/[\s,]+/).filter(Boolean),
    env: parseEnv(raw.env ?? ''),
    drainTimeout: parseInteger('drain-timeout', text('drain-timeout')),
    websocketTimeout: parseInteger('websocket-timeout', text('websocket-timeout')),
    accessLog: parseBoolean('access-log', text('access-log')),
    lockTimeout: parseInteger('lock-timeout', text('lock-timeout')),
    compression: text('compression').toLowerCase() as Compression,
    compressionLevel: text('compression-level')
      ? parseInteger('compression-level', text('compression-level'))
      : undefined,
    layerSource: text('layer-source').toLowerCase() as LayerSource,
    rollback,
    rollbackSteps,
    keepReleases: parseInteger('keep-releases', text('keep-releases')),
    runtime: parseRuntime((name) => raw[name] ?? ''),
    releaseCommand: parseCommand('release-command', raw['release-command'] ?? ''),
    releaseTimeout: parseSeconds('release-timeout', text('release-timeout'), 1, 86400),
    releaseOnRollback: parseBoolean('release-on-rollback', text('release-on-rollback')),
    workers: parseWorkers(raw.workers ?? ''),
    workerSettle: parseSeconds('worker-settle', text('worker-settle'), 0, 300),
    maintenance,
    maintenancePage: raw['maintenance-page'] ?? '',
    canary: parseInteger('canary', text('canary')),
    canaryDuration: parseSeconds('canary-duration', text('canary-duration'), 5, 3600),
    canaryMax5xx: parsePercent('canary-max-5xx', text('canary-max-5xx')),
    canaryMinRequests: parseInteger('canary-min-requests', text('canary-min-requests')),
    swarmUpdate: text('swarm-update').toLowerCase() as SwarmUpdate
  }
  validateInputs(inputs)
  // After the routing inputs: a certificate is checked against the server names.
  const tls = parseTls(text, inputs.serverNames, inputs.proxyPort, Math.max(inputs.hosts.length, 1))
  // Certificates live in one host's proxy dir; a Swarm's proxies on every node would need them in step.
  if (inputs.target === 'swarm' && tls.mode !== 'off') throw new Error('tls: not supported with target: swarm yet (terminate TLS in front of the nodes)')
  return { ...inputs, tls }
}

function withoutEmpty(raw: RawInputs): RawInputs {
  return Object.fromEntries(Object.entries(raw).filter(([, value]) => value.trim() !== ''))
}

function serviceFromImage(image: string, rollback: boolean): string {
  const ref = parseImageRef(image)
  if (ref) return defaultServiceName(ref)
  if (!image && rollback) {
    throw new Error('service: required without an image, for a rollback or maintenance (e.g. service: web)')
  }
  return '' // validateInputs reports the bad image
}

function parseMaintenance(value: string): Inputs['maintenance'] {
  if (value === '') return undefined
  const mode = value.toLowerCase()
  if (mode === 'on' || mode === 'off') return mode
  throw new Error(`maintenance: expected on or off (or nothing, to leave it as it is), got "${value}"`)
}

/** A percentage with at most two decimals, 0 to 100. */
function parsePercent(name: string, value: string): number {
  const number = /^\d{1,3}(?:\.\d{1,2})?$/.test(value) ? Number(value) : NaN
  if (!(number >= 0 && number <= 100)) throw new Error(`${name}: expected a percentage from 0 to 100 (e.g. 1 or 0.5), got "${value}"`)
  return number
}

export function parseInteger(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new Error(`${name}: expected a whole number, got "${value}"`)
  return Number(value)
}

/** rollback: true or false, or how many releases back (1 to 49). */
function parseRollback(value: string): number {
  if (/^\d+$/.test(value)) {
    const steps = Number(value)
    if (steps >= 1 && steps <= 49) return steps
    throw new Error(`rollback: expected true, false or a number of releases back from 1 to 49, got ${value}`)
  }
  return parseBoolean('rollback', value) ? 1 : 0
}

/** Same spellings as core.getBooleanInput (YAML 1.2 core schema). */
export function parseBoolean(name: string, value: string): boolean {
  if (['true', 'True', 'TRUE'].includes(value)) return true
  if (['false', 'False', 'FALSE'].includes(value)) return false
  throw new Error(`${name}: expected true or false, got "${value}"`)
}

/** KEY=VALUE lines; blank lines and # comments are skipped. Values never appear in messages. */
export function parseEnv(text: string): EnvVar[] {
  const vars: EnvVar[] = []
  text.split('\n').forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '').replace(/^\s+/, '')
    if (line === '' || line.startsWith('#')) return
    const eq = line.indexOf('=')
    const name = eq > 0 ? line.slice(0, eq) : ''
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new Error(
        `env: line ${index + 1} must be KEY=VALUE with KEY made of letters, digits and _ (value not shown)`
      )
    }
    vars.push({ name, value: line.slice(eq + 1) })
  })
  return vars
}
