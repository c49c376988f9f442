// Parsers of the runtime inputs (volumes, command, entrypoint, user, memory, cpus, labels,
// stop-timeout, options, release-command, workers). Each is pure and throws a message that names
// its input (and line) and the form it expects. Values that may carry a secret (commands, label
// values) are never quoted back; names, paths and flags are.
import { ABSOLUTE_PATH, checkRepeats, parseOption, shown, type RunOption } from './options.js'
import { MIN_MEMORY, parseBytes } from './sizes.js'
import type { RuntimeSpec, Volume, Worker } from './spec.js'
import { splitWords } from './words.js'

export interface Line {
  /** Without the spaces around it. */
  text: string
  /** 1-based, counting blank and comment lines, as an editor shows it. */
  number: number
  /** Characters of indentation before `text`. */
  indent: number
}

/** The lines that say something: blank lines and # comments are skipped, as in env. */
export function meaningfulLines(text: string): Line[] {
  return text
    .split('\n')
    .map((line, index) => ({ text: line.trim(), number: index + 1, indent: line.length - line.trimStart().length }))
    .filter((line) => line.text !== '' && !line.text.startsWith('#'))
}

/** Raw text by input name, as parseInputs holds it. */
export type InputText = (name: string) => string

export function parseRuntime(text: InputText): RuntimeSpec {
  const spec: RuntimeSpec = {
    volumes: parseVolumes(text('volumes')),
    command: parseCommand('command', text('command')),
    entrypoint: parseEntrypoint(text('entrypoint')),
    user: optional(text('user'), parseUser),
    memory: optional(text('memory'), parseMemory),
    cpus: optional(text('cpus'), parseCpus),
    labels: parseLabels(text('labels')),
    stopTimeout: optional(text('stop-timeout'), (value) => parseSeconds('stop-timeout', value, 0, 3600)),
    options: parseOptions(text('options'))
  }
  checkMounts(spec)
  checkSwap(spec)
  return spec
}

function optional<T>(value: string, parse: (value: string) => T): T | undefined {
  return value.trim() === '' ? undefined : parse(value.trim())
}

export function parseSeconds(name: string, value: string, min: number, max: number): number {
  const seconds = /^\d{1,9}$/.test(value) ? Number(value) : NaN
  if (!(seconds >= min && seconds <= max)) {
    throw new Error(`${name}: expected a whole number of seconds from ${min} to ${max}, got "${shown(value)}"`)
  }
  return seconds
}

/** `command` and `release-command`: words split as sh would, run with no shell. Blank: undefined. */
export function parseCommand(name: string, text: string, offset = 0): string[] | undefined {
  if (text.trim() === '') return undefined
  const words = splitWords(text, name, offset)
  return words.length > 0 ? words : undefined
}

/** One word; '' (written as two quotes) resets the image's ENTRYPOINT. */
export function parseEntrypoint(text: string): string | undefined {
  const words = parseCommand('entrypoint', text)
  if (words === undefined) return undefined
  if (words.length !== 1) {
    throw new Error(`entrypoint: expected one word, the program (such as /usr/bin/tini, or '' to reset it); its arguments go in command`)
  }
  return words[0]
}

const ACCOUNT = '(?:[A-Za-z_][A-Za-z0-9_.-]{0,31}|\\d{1,10})'
const USER = new RegExp(`^${ACCOUNT}(?::${ACCOUNT})?$`)

export function parseUser(value: string): string {
  const ids = value.split(':').filter((part) => /^\d+$/.test(part))
  if (!USER.test(value) || ids.some((id) => Number(id) > 4294967294)) {
    throw new Error(`user: expected a user name or uid, optionally with :group or :gid (such as app or 1000:1000), got "${shown(value)}"`)
  }
  return value
}

export function parseMemory(value: string): string {
  const bytes = parseBytes(value)
  if (bytes === undefined || bytes < MIN_MEMORY) {
    throw new Error(`memory: expected a size such as 512m or 1g (units b, k, m, g), at least the 6m Docker needs, got "${shown(value)}"`)
  }
  return value
}

export function parseCpus(value: string): string {
  if (!/^(?:\d{1,4}(?:\.\d{1,3})?|\.\d{1,3})$/.test(value) || Number(value) < 0.01) {
    throw new Error(`cpus: expected a number of CPUs such as 0.5 or 2 (at least 0.01, at most 3 decimals), got "${shown(value)}"`)
  }
  return value
}

const VOLUME_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{1,254}$/
const VOLUME_FORM = 'NAME:/path or /host/path:/path, optionally ending :ro or :rw'

/** `NAME:/path[:ro]` (a named volume) or `/host/path:/path[:ro]` (a bind mount), one per line. */
export function parseVolumes(text: string): Volume[] {
  const volumes: Volume[] = []
  for (const line of meaningfulLines(text)) {
    const volume = parseVolume(line.text, `volumes: line ${line.number}`)
    if (volumes.some((other) => other.target === volume.target)) {
      throw new Error(`volumes: line ${line.number}: ${volume.target} is mounted already by an earlier line; Docker takes one mount per path`)
    }
    volumes.push(volume)
  }
  return volumes
}

function parseVolume(text: string, where: string): Volume {
  const parts = text.split(':')
  const fail = (problem: string): never => {
    throw new Error(`${where} ${problem} (${VOLUME_FORM}), got "${shown(text)}"`)
  }
  if (parts.length < 2 || parts.length > 3) fail('must be two or three fields separated by ":"')
  const [source, target, mode = 'rw'] = parts
  if (!ABSOLUTE_PATH.test(target) || hasDotSegment(target)) {
    fail('needs an absolute container path after the ":", such as /data, of letters, digits and . _ - @ + % ~')
  }
  if (mode !== 'ro' && mode !== 'rw') fail('may end in :ro or :rw only')
  const readOnly = mode === 'ro'
  if (source.startsWith('/')) {
    if (!ABSOLUTE_PATH.test(source) || hasDotSegment(source)) fail('needs a host path of letters, digits and . _ - @ + % ~, without . or .. parts')
    return { kind: 'bind', source: trimSlash(source), target: trimSlash(target), readOnly }
  }
  if (!VOLUME_NAME.test(source)) {
    fail('needs an absolute host path (a relative one such as ./data is not allowed) or a volume name of letters, digits and _ . - (at least 2)')
  }
  return { kind: 'volume', source, target: trimSlash(target), readOnly }
}

/** /data/ and /data are one mount point. */
function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/$/, '') : path
}

function hasDotSegment(path: string): boolean {
  return path.split('/').some((part) => part === '.' || part === '..')
}

// Docker's label form: reverse-DNS style keys (com.example.team), read by tools like Traefik.
const LABEL_KEY = /^[A-Za-z](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$/

/** `key=value`, one per line; the action's own bluegreen.* keys are refused, in any case. */
export function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  for (const line of meaningfulLines(text)) {
    const where = `labels: line ${line.number}`
    const eq = line.text.indexOf('=')
    const key = eq > 0 ? line.text.slice(0, eq) : ''
    if (!LABEL_KEY.test(key) || key.includes('..')) {
      throw new Error(
        `${where} must be key=value with a key of letters, digits and . - _ that starts with a letter, such as com.example.team=web (value not shown)`
      )
    }
    const lower = key.toLowerCase()
    if (lower === 'bluegreen' || lower.startsWith('bluegreen.')) {
      throw new Error(`${where}: ${key} is one of the action's own labels (bluegreen.*), which say what each container is; choose another key`)
    }
    if (Object.hasOwn(labels, key)) throw new Error(`${where}: ${key} is set twice`)
    const value = line.text.slice(eq + 1)
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(value)) throw new Error(`${where}: the value of ${key} has a control character (value not shown)`)
    labels[key] = value
  }
  return labels
}

/** One allowed docker run flag per line (options.ts). */
export function parseOptions(text: string): RunOption[] {
  const lines = meaningfulLines(text)
  const options = lines.map((line) => parseOption(line.text, `options: line ${line.number}`))
  checkRepeats(options, lines.map((line) => line.number))
  return options
}

const WORKER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,28}[a-z0-9])?$/
const WORKER_FORM = 'NAME: command, or NAME*N: command for N of them'
// Procfile names that mean something else here: the action's own parts do those jobs.
const PROCFILE_ROLES: Record<string, string> = {
  web: 'the app itself is the web process: its command goes in command',
  release: 'a release step goes in release-command'
}

/** Procfile-style `NAME: command` or `NAME*N: command` lines; names unique, N from 1 to 20. */
export function parseWorkers(text: string): Worker[] {
  const workers: Worker[] = []
  for (const line of meaningfulLines(text)) {
    const worker = parseWorker(line)
    if (workers.some((other) => other.name === worker.name)) {
      throw new Error(`workers: line ${line.number}: the name ${worker.name} is used twice; each worker needs its own`)
    }
    workers.push(worker)
  }
  return workers
}

function parseWorker(line: Line): Worker {
  const where = `workers: line ${line.number}`
  const colon = line.text.indexOf(':')
  const head = /^(.*?)(?:\s*\*\s*(\S*))?$/.exec(colon < 0 ? '' : line.text.slice(0, colon).trim())!
  const [name, countText] = [head[1], head[2]]
  if (name === '') throw new Error(`${where} must be ${WORKER_FORM}, with NAME in lowercase letters, digits and dashes`)
  if (!WORKER_NAME.test(name)) {
    throw new Error(`${where}: the name before ":" must be lowercase letters, digits and dashes, at most 30 (${WORKER_FORM})`)
  }
  if (PROCFILE_ROLES[name]) throw new Error(`${where}: ${name} is not a worker here: ${PROCFILE_ROLES[name]}`)
  const count = countText === undefined ? 1 : /^\d{1,2}$/.test(countText) ? Number(countText) : NaN
  if (!(count >= 1 && count <= 20)) throw new Error(`${where}: the count after ${name}* must be a whole number from 1 to 20`)
  const command = parseCommand(`${where} (${name})`, line.text.slice(colon + 1), line.indent + colon + 1)
  if (command === undefined) throw new Error(`${where}: ${name} has no command after the ":"`)
  return { name, command, count }
}

/** A --tmpfs on a path that is mounted already: Docker would refuse at start, after the transfer. */
function checkMounts(spec: RuntimeSpec): void {
  const mounted = new Set(spec.volumes.map((volume) => volume.target))
  for (const option of spec.options.filter((o) => o.flag === '--tmpfs')) {
    const path = trimSlash(option.value!.split(':')[0])
    if (mounted.has(path)) throw new Error(`options: --tmpfs ${path} is a path that volumes or another --tmpfs mounts already`)
    mounted.add(path)
  }
}

/** --memory-swap counts memory in: Docker refuses it without memory or below it. */
function checkSwap(spec: RuntimeSpec): void {
  const swap = spec.options.find((o) => o.flag === '--memory-swap')?.value
  if (swap === undefined || swap === '-1') return
  if (spec.memory === undefined || parseBytes(swap)! < parseBytes(spec.memory)!) {
    throw new Error(`options: --memory-swap is memory plus swap: it needs the memory input, and at least as much (got ${swap}, memory ${spec.memory ?? 'not set'})`)
  }
}
