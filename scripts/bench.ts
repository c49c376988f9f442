// Benchmark: the action against the obvious shell pipeline, side by side, on the same images and
// the same sandbox host, in one run.
//
//   baseline: docker save IMG | gzip | ssh -p PORT -i KEY bgs-deploy@127.0.0.1 'gunzip | docker load'
//   action:   dist/index.js, run as the GitHub runner runs it (sandbox/action.ts)
//
// Figures: a cold deploy, a second version that differs only in its top layer, the runner's peak
// RSS while a 1 GiB image streams, the deploy overhead beyond transfer and app boot, and the cold
// deploy again on Node 24 (zstd) and with gzip. The sandbox host runs on this machine's kernel,
// where the action's auto sends the image uncompressed (no network to save time on): steps 1, 2
// and 4 run auto as a user's workflow would; the steps that measure a codec name it (3: gzip on
// Node 20, zstd on Node 24; 5: zstd; 6: gzip, what auto picks for a host across a network, in
// step 1's reps). Writes bench/results.json and bench/results.md.
//
//   npm run bench              full run: about 4 minutes once the fixtures are cached (the first
//                              build of the 1 GiB image adds up to a minute)
//   npm run bench -- --quick   smaller images, no 1 GiB step (for CI): about 35 seconds
//
// The sandbox and this 2-core machine are shared with the tests and the demo: the run waits (bounded)
// for the CPU to be quiet, stops before measuring when an image it does not own holds a cold
// image's layers on the host, checks that every cold send is cold, and notes in the report any
// step during which another session's jest, demo or action process ran. Bars missed are reported, not
// turned into a failing exit code: the exit code is non-zero only when the run itself failed.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { REPO_ROOT, sandboxInputs, startAction, type ActionResult } from '../sandbox/action.js'
import { buildApp, type BuiltImage } from '../sandbox/fixtures.js'
import { httpGet } from '../sandbox/load.js'
import { node24 } from '../sandbox/node24.js'
import { chainIds } from '../src/transfer/layers.js'
import {
  ensureSandbox, HOST_DOCKER_HOST, hostDocker, hostSsh, mustHostDocker, runCommand, runnerDocker, RUNNER_DOCKER_HOST, sshArgs,
  type SandboxInfo
} from '../sandbox/sandbox.js'

// ------------------------------------------------------------------------------------- settings
const QUICK = process.argv.includes('--quick')
const MiB = 1024 * 1024

// Cold image: an incompressible layer plus a text layer, on the shared busybox base. The padding
// sizes are ones nobody else here uses: a fixture base is shared by every image built with the same
// sizes, and another image on the sandbox host with our base would make a "cold" send warm. The
// text layer sits below the random one, so an odd text size gives every layer above it a chain of
// its own. Quick and full differ too. Every cold send is checked (layersOnHost) all the same.
const COLD = QUICK ? { randomPaddingMiB: 41, paddingMiB: 23 } : { randomPaddingMiB: 49, paddingMiB: 31 }
/** A larger cold image (full run only): where the fixed cost of a blue-green switch stops dominating. */
const COLD_LARGE = { randomPaddingMiB: 192, paddingMiB: 63 }
const BIG = { randomPaddingMiB: 1024, paddingMiB: 1 }
/** Five pairs in a full run: on this VM one cold pair varies by about 10% from the next. */
// Single pairs here range from 0.85x to 1.15x (the VM's speed drifts), so the median needs several.
const COLD_REPS = QUICK ? 1 : 9
const OVERHEAD_RUNS = QUICK ? 3 : 5

const SERVICE = 'bench-app'
const NETWORK = 'bench'
const PROXY_PORT = 18900
const BOOT_NETWORK = 'bench-boot'
const BOOT_CONTAINER = 'bench-boot-app'
const BOOT_PORT = 18901
const STATE_ROOT = '/var/lib/bluegreen'
/** Every image the benchmark builds is in this repository; the host holds none of them between runs. */
const BENCH_REPO = 'bluegreen-bench/app'

const BARS = {
  incrementalWireBytes: 1 * MiB,
  peakRssBytes: 150 * MiB,
  overheadMs: 1000
}

const ACTION_TIMEOUT_MS = 5 * 60_000
const BOOT_TIMEOUT_MS = 30_000

// -------------------------------------------------------------------------------------- logging
const T0 = performance.now()
function progress(message: string): void {
  const s = ((performance.now() - T0) / 1000).toFixed(1).padStart(6)
  process.stdout.write(`[bench ${s} s] ${message}\n`)
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}
const fmtMs = (ms: number): string => (ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(2)} s`)
const fmtBytes = (bytes: number): string =>
  bytes < MiB ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / MiB).toFixed(2)} MiB`
const fmtRate = (bytesPerSec: number): string => `${(bytesPerSec / MiB).toFixed(1)} MiB/s`

// --------------------------------------------------------------------------------- action runs
interface Phase {
  name: string
  ms: number
}

interface ActionRun {
  wallMs: number
  /** From the job summary's phase table (rounded as the summary rounds). */
  summaryPhases: Phase[]
  /** The same phases timed here from the ::group:: / ::endgroup:: lines as they arrived. */
  phases: Phase[]
  transferMs: number
  wireBytes: number
  skippedLayers: number
  /** Log lines about the transfer, as the action printed them. */
  transferLog: string[]
  /** Peak RSS (VmHWM) of the node process running dist/index.js, when asked for. */
  peakRssBytes?: number
  /** /usr/bin/time %M of the same process tree (max over node and the children it waited for). */
  timeMaxRssBytes?: number
  /** Anonymous (heap, buffers) and file-backed (the node binary's pages) RSS at the largest sample. */
  peakAnonBytes?: number
  peakFileBytes?: number
}

/** Short, stable names for the summary's phase labels, whether it says `transfer` or `send the image`. */
function phaseKey(label: string): string {
  const l = label.toLowerCase()
  const keys: [RegExp, string][] = [
    [/health/, 'health'], [/connect/, 'connect'], [/check/, 'check'], [/lock/, 'lock'],
    [/live slot|^state$/, 'state'], [/transfer|send/, 'transfer'], [/switch/, 'switch'], [/proxy/, 'proxy'],
    [/candidate/, 'candidate'], [/record/, 'record'], [/retire|drain|old slot/, 'retire']
  ]
  return keys.find(([re]) => re.test(l))?.[1] ?? label
}

/** The rows of the summary's phase table: `| label | 1.8 s |` up to the `**total**` row. */
function parseSummaryPhases(summary: string): Phase[] {
  const phases: Phase[] = []
  const table = /^\| Phase \| Time \|$([\s\S]*?)^\| \*\*total\*\*/m.exec(summary)?.[1] ?? ''
  for (const m of table.matchAll(/^\| ([^|]+?) \| (\d+(?:\.\d+)?) (ms|s) \|$/gm)) {
    phases.push({ name: phaseKey(m[1]!), ms: Number(m[2]) * (m[3] === 's' ? 1000 : 1) })
  }
  return phases
}

/**
 * Wraps node in /usr/bin/time so the kernel's rusage reports the max RSS too. bash, not sh: dash
 * drops variables like INPUT_PROXY-PORT (not a shell name) from the environment it passes on.
 */
async function timeWrapper(dir: string): Promise<string> {
  const path = join(dir, 'node-under-time.sh')
  await writeFile(path, '#!/bin/bash\nexec /usr/bin/time -f %M -o "$BENCH_TIME_OUT" "$BENCH_NODE" "$@"\n', { mode: 0o755 })
  return path
}

interface Rss {
  hwmKiB: number
  anonKiB: number
  fileKiB: number
}

/** VmHWM (peak, monotonic) and the current anonymous and file-backed RSS of a process. */
function rssOf(pid: number): Rss | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kib = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0)
    return { hwmKiB: kib('VmHWM'), anonKiB: kib('RssAnon'), fileKiB: kib('RssFile') }
  } catch {
    return undefined
  }
}

function childPid(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]
    return first ? Number(first) : undefined
  } catch {
    return undefined
  }
}

async function runActionTimed(
  info: SandboxInfo,
  image: string,
  opts: { node?: string; measureRss?: boolean; label: string; inputs?: Record<string, string> }
): Promise<ActionRun> {
  const inputs = sandboxInputs(info, {
    username: info.users.deploy,
    image,
    service: SERVICE,
    network: NETWORK,
    'proxy-port': String(PROXY_PORT),
    'health-path': '/health',
    ...opts.inputs
  })
  const node = opts.node ?? process.execPath
  await settle()
  let tmp: string | undefined
  let launch: { node: string; env?: Record<string, string> } = { node }
  let timeOut = ''
  if (opts.measureRss) {
    tmp = await mkdtemp(join(tmpdir(), 'bgs-bench-'))
    timeOut = join(tmp, 'time.out')
    launch = { node: await timeWrapper(tmp), env: { BENCH_TIME_OUT: timeOut, BENCH_NODE: node } }
  }
  const started = startAction(inputs, { node: launch.node, env: launch.env, timeoutMs: ACTION_TIMEOUT_MS })
  const t0 = performance.now()
  const groups: Phase[] = []
  let open: { title: string; at: number } | undefined
  let pending = ''
  started.child.stdout?.on('data', (chunk: Buffer) => {
    const now = performance.now()
    const lines = (pending + chunk.toString('utf8')).split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) {
      if (line.startsWith('::group::')) open = { title: line.slice(9), at: now }
      else if (line.startsWith('::endgroup::') && open) {
        groups.push({ name: open.title, ms: now - open.at })
        open = undefined
      }
    }
  })

  // Poll the node process's VmHWM (monotonic) while it runs: bounded by count and by time.
  let peakKiB = 0
  let largest: Rss | undefined
  let polling: Promise<void> = Promise.resolve()
  let stopPolling = false
  if (opts.measureRss && started.child.pid) {
    const wrapperPid = started.child.pid
    polling = (async () => {
      const deadline = Date.now() + ACTION_TIMEOUT_MS
      let nodePid: number | undefined
      for (let i = 0; i < ACTION_TIMEOUT_MS / 20 && !stopPolling && Date.now() < deadline; i++) {
        nodePid ??= childPid(wrapperPid)
        const rss = nodePid ? rssOf(nodePid) : undefined
        if (rss) {
          peakKiB = Math.max(peakKiB, rss.hwmKiB)
          if (!largest || rss.anonKiB + rss.fileKiB > largest.anonKiB + largest.fileKiB) largest = rss
        }
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    })()
  }
  const result: ActionResult = await started.done
  stopPolling = true
  await polling
  const wallMs = performance.now() - t0
  if (result.code !== 0) {
    throw new Error(`${opts.label}: the action failed (exit ${result.code}${result.timedOut ? ', timed out' : ''}):\n` +
      `${result.stdout.split('\n').slice(-40).join('\n')}\n${result.stderr}`)
  }
  let timeMaxRssBytes: number | undefined
  if (tmp) {
    const kib = Number((await readFile(timeOut, 'utf8').catch(() => '')).trim().split('\n').pop())
    if (kib > 0) timeMaxRssBytes = kib * 1024
    await rm(tmp, { recursive: true, force: true })
  }
  const summaryPhases = parseSummaryPhases(result.summary)
  // The groups are the phases, in order; fall back to the summary if they do not line up.
  const phases = groups.length === summaryPhases.length
    ? summaryPhases.map((p, i) => ({ name: p.name, ms: Math.round(groups[i]!.ms) }))
    : summaryPhases
  const transferMs = phases.find((p) => p.name === 'transfer')?.ms
  if (transferMs === undefined) {
    throw new Error(`${opts.label}: no transfer phase in the job summary's phase table:\n${result.summary}`)
  }
  const transferLog = result.stdout.split('\n').filter((line) =>
    /layers are already on the host|first pass|did not verify|nothing to send|^sent .* MiB/.test(line))
  const summaryImage = /^\*\*Image:\*\* (.*)$/m.exec(result.summary)?.[1]
  if (summaryImage) transferLog.push(`summary: ${summaryImage}`)
  return {
    wallMs,
    summaryPhases,
    phases,
    transferMs,
    wireBytes: Number(result.outputs['transferred-bytes'] ?? NaN),
    skippedLayers: Number(result.outputs['skipped-layers'] ?? NaN),
    transferLog,
    peakRssBytes: peakKiB > 0 ? peakKiB * 1024 : undefined,
    timeMaxRssBytes,
    peakAnonBytes: largest ? largest.anonKiB * 1024 : undefined,
    peakFileBytes: largest ? largest.fileKiB * 1024 : undefined
  }
}

// ------------------------------------------------------------------------------------ baseline
interface BaselineRun {
  wallMs: number
  /** gzip output: what went over the SSH connection (before SSH's own framing). */
  wireBytes: number
  /** docker save output. */
  archiveBytes: number
}

function dockerRunnerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, DOCKER_HOST: RUNNER_DOCKER_HOST }
  delete env.DOCKER_CONTEXT
  return env
}

/** docker save IMG | gzip | ssh bgs-deploy@127.0.0.1 'gunzip | docker load', byte-counted in the middle. */
async function baseline(info: SandboxInfo, ref: string, timeoutMs = 60_000): Promise<BaselineRun> {
  await settle()
  return new Promise((resolve, reject) => {
    const t0 = performance.now()
    const save = spawn('docker', ['save', ref], { env: dockerRunnerEnv(), stdio: ['ignore', 'pipe', 'pipe'] })
    const gzip = spawn('gzip', ['-c'], { stdio: ['pipe', 'pipe', 'pipe'] })
    const ssh = spawn('ssh', [...sshArgs(info, { user: info.users.deploy }), '--', 'gunzip | docker load'], {
      stdio: ['pipe', 'pipe', 'pipe']
    })
    const children = { save, gzip, ssh }
    let archiveBytes = 0
    let wireBytes = 0
    const stderr: Record<string, string> = { save: '', gzip: '', ssh: '' }
    const codes: Record<string, number | null> = {}
    let sshOut = ''
    save.stdout.on('data', (b: Buffer) => (archiveBytes += b.length))
    gzip.stdout.on('data', (b: Buffer) => (wireBytes += b.length))
    save.stdout.pipe(gzip.stdin)
    gzip.stdout.pipe(ssh.stdin)
    gzip.stdin.on('error', () => undefined)
    ssh.stdin.on('error', () => undefined)
    ssh.stdout.on('data', (b: Buffer) => (sshOut += b.toString()))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      for (const child of Object.values(children)) child.kill('SIGKILL')
    }, timeoutMs)
    let left = 3
    for (const [name, child] of Object.entries(children)) {
      child.stderr.on('data', (b: Buffer) => (stderr[name] += b.toString()))
      child.on('error', (error) => {
        clearTimeout(timer)
        reject(new Error(`baseline: cannot run ${name}: ${error.message}`))
      })
      child.on('close', (code) => {
        codes[name] = code
        if (--left > 0) return
        clearTimeout(timer)
        const wallMs = performance.now() - t0
        const failed = Object.entries(codes).filter(([, c]) => c !== 0)
        if (failed.length || !/Loaded image/.test(sshOut)) {
          reject(new Error(`baseline for ${ref} failed${timedOut ? ` (killed after ${timeoutMs} ms)` : ''}: ${failed.map(([n, c]) => `${n} exit ${c}: ${stderr[n]?.trim()}`).join('; ')} ${sshOut}`))
          return
        }
        resolve({ wallMs, wireBytes, archiveBytes })
      })
    }
  })
}

// ---------------------------------------------------------------------------------- host state
const lines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean)

/** Removes the service, its proxy, network and state from the host, and the boot probe. */
async function clearService(): Promise<void> {
  const ids = lines((await hostDocker(['ps', '-aq', '--filter', `label=bluegreen.service=${SERVICE}`])).stdout)
  await hostDocker(['rm', '-f', ...ids, `${SERVICE}-blue`, `${SERVICE}-green`, `${NETWORK}-proxy`, BOOT_CONTAINER])
  await hostDocker(['network', 'rm', NETWORK])
  await hostDocker(['network', 'rm', BOOT_NETWORK])
  // hostSsh logs in as root: the action's state dirs belong to the deploy user.
  await hostSsh(`rm -rf '${STATE_ROOT}/${SERVICE}' '${STATE_ROOT}/_proxy/${NETWORK}'`)
}

/** Removes images (by ID) and any container using them from the host engine, so the next send is cold. */
async function evict(images: BuiltImage[]): Promise<void> {
  for (const image of images) {
    const users = lines((await hostDocker(['ps', '-aq', '--filter', `ancestor=${image.id}`])).stdout)
    if (users.length) await hostDocker(['rm', '-f', ...users])
    const r = await hostDocker(['image', 'rm', '-f', image.id])
    if (r.code !== 0 && !/No such image/i.test(r.stderr)) throw new Error(`cannot remove ${image.ref} from the host: ${r.stderr.trim()}`)
  }
}

/** Every image of BENCH_REPO on the host (any tag, also from an earlier or interrupted run). */
async function benchImagesOnHost(): Promise<BuiltImage[]> {
  const r = await hostDocker(['image', 'ls', '--no-trunc', '--format', '{{.ID}}', BENCH_REPO])
  return [...new Set(lines(r.stdout))].map((id) => ({ ref: id, id, sizeBytes: 0 }))
}

async function diffIds(engine: 'runner' | 'host', ref: string): Promise<string[]> {
  const run = engine === 'host' ? hostDocker : runnerDocker
  const r = await run(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref])
  return r.code === 0 ? (JSON.parse(r.stdout) as string[]) : []
}

/** How many of the image's bottom layers the host engine already holds (other images may share the base), and in which images. */
async function layersOnHost(image: BuiltImage): Promise<{ present: number; total: number; holders: string[] }> {
  const wanted = chainIds(await diffIds('runner', image.id))
  const ids = [...new Set(lines((await hostDocker(['image', 'ls', '-aq', '--no-trunc'])).stdout))]
  /** Chain IDs by image, the image named by its first tag or its short ID. */
  const chainsOf = new Map<string, Set<string>>()
  if (ids.length) {
    const r = await hostDocker(['image', 'inspect', '--format', '{{.Id}} {{json .RepoTags}} {{json .RootFS.Layers}}', ...ids])
    for (const line of lines(r.stdout)) {
      const [id = '', tags = '[]', layers = '[]'] = line.split(' ')
      const name = (JSON.parse(tags) as string[] | null)?.[0] ?? id.replace(/^sha256:/, '').slice(0, 12)
      chainsOf.set(name, new Set(chainIds(JSON.parse(layers) as string[])))
    }
  }
  const have = (chain: string): boolean => [...chainsOf.values()].some((chains) => chains.has(chain))
  let present = 0
  while (present < wanted.length && have(wanted[present]!)) present++
  // Above the shared busybox base: which images make a cold send warm.
  const top = present > 1 ? wanted[present - 1]! : undefined
  const holders = top ? [...chainsOf].filter(([, chains]) => chains.has(top)).map(([name]) => name) : []
  return { present, total: wanted.length, holders }
}

/**
 * Every cold figure needs its image's layers off the host. Bench images are evicted by this
 * script; any other image holding them (left by hand, or by an experiment) would make every cold
 * send warm, so the run stops before measuring instead of reporting warm sends as cold.
 */
async function requireCold(images: BuiltImage[]): Promise<void> {
  for (const image of images) {
    const found = await layersOnHost(image)
    if (found.present <= 1) continue
    throw new Error(`the host engine already holds ${found.present} of the ${found.total} layers of ${image.ref} ` +
      `(in ${found.holders.join(', ')}), so no send of it would be cold: ` +
      `DOCKER_HOST=${HOST_DOCKER_HOST} docker image rm ${found.holders.join(' ')}, then run again.`)
  }
}

// ------------------------------------------------------------------------------------ app boot
/** `docker run -d` of the image on the host engine until its first 200 on `/health`. */
async function appBoot(image: BuiltImage): Promise<number> {
  await hostDocker(['rm', '-f', BOOT_CONTAINER])
  await settle()
  const t0 = performance.now()
  await mustHostDocker(['run', '-d', '--name', BOOT_CONTAINER, '--network', BOOT_NETWORK,
    '-p', `127.0.0.1:${BOOT_PORT}:8080`, image.id])
  let ms = NaN
  const deadline = Date.now() + BOOT_TIMEOUT_MS
  for (let i = 0; i < BOOT_TIMEOUT_MS / 10 && Date.now() < deadline; i++) {
    const reply = await httpGet(`http://127.0.0.1:${BOOT_PORT}/health`, { timeoutMs: 1000 }).catch(() => undefined)
    if (reply?.status === 200) {
      ms = performance.now() - t0
      break
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  await hostDocker(['rm', '-f', BOOT_CONTAINER])
  if (Number.isNaN(ms)) throw new Error(`${image.ref} did not answer 200 on the host within ${BOOT_TIMEOUT_MS} ms`)
  return ms
}

// ------------------------------------------------------------------------------- machine load
/** Share of all cores busy over `ms`, from /proc/stat (everyone's processes, ours included). */
async function cpuBusy(ms: number): Promise<number> {
  const read = (): [number, number] => {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number)
    const idle = (f[3] ?? 0) + (f[4] ?? 0)
    return [f.reduce((a, b) => a + b, 0), idle]
  }
  const [t0, i0] = read()
  await new Promise((resolve) => setTimeout(resolve, ms))
  const [t1, i1] = read()
  return t1 > t0 ? 1 - (i1 - i0) / (t1 - t0) : 0
}

const loadAvg = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')

/** Other work on this 2-core machine skews every figure: wait (bounded) until it is quiet. */
async function waitForQuiet(maxMs: number): Promise<number> {
  const deadline = Date.now() + maxMs
  let busy = await cpuBusy(2000)
  for (let i = 0; i < maxMs / 5000 && busy > 0.25 && Date.now() < deadline; i++) {
    progress(`the machine is ${(busy * 100).toFixed(0)}% busy with other work (load ${loadAvg()}); waiting for it to settle`)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    busy = await cpuBusy(2000)
  }
  return busy
}

/**
 * Other sessions share this machine and its sandbox (tests, demos, deploys). Once a second, note
 * which step runs while a jest, demo or action process that is not ours is alive: those figures
 * are skewed and the report says so.
 */
const FOREIGN = /jest\.js|scripts\/demo\.ts|dist\/index\.js/
let currentStep = 'setup'
const contended: Record<string, number> = {}

function foreignProcesses(): number {
  const parent = new Map<number, number>()
  const candidates: number[] = []
  let names: string[] = []
  try {
    names = readdirSync('/proc').filter((name) => /^\d+$/.test(name))
  } catch {
    return 0
  }
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8')
      parent.set(Number(name), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]))
      if (FOREIGN.test(readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' '))) candidates.push(Number(name))
    } catch {
      // gone meanwhile
    }
  }
  const ours = (pid: number): boolean => {
    for (let i = 0, p: number | undefined = pid; i < 64 && p && p > 1; i++, p = parent.get(p)) if (p === process.pid) return true
    return false
  }
  return candidates.filter((pid) => !ours(pid)).length
}

function startContentionWatch(): () => void {
  const timer = setInterval(() => {
    if (foreignProcesses() > 0) contended[currentStep] = (contended[currentStep] ?? 0) + 1
  }, 1000)
  timer.unref()
  return () => clearInterval(timer)
}

/**
 * A step writes hundreds of MiB that the kernel flushes later: flushed during the next run, they
 * slowed a redeploy by a fifth. Every measured run starts after a sync, and every step once the
 * machine is quiet (bounded).
 */
async function settle(): Promise<void> {
  await runCommand('sync', [], { timeoutMs: 120_000 })
}

async function step(name: string): Promise<void> {
  currentStep = name
  await settle()
  await waitForQuiet(15_000)
}

// -------------------------------------------------------------------------------------- results
interface Row {
  figure: string
  baseline?: string
  action: string
  ratio?: string
  bar?: string
  pass?: boolean
}

function ratio(action: number, base: number): string {
  if (!Number.isFinite(action) || !Number.isFinite(base) || base <= 0) return '–'
  const r = action / base
  return `${r >= 0.01 || r === 0 ? r.toFixed(2) : r.toPrecision(2)}×`
}

/** Rows in step order (1 … 5), whatever order the steps ran in. */
function byStep(rows: Row[]): Row[] {
  // "1b." sorts right after "1.".
  const step = (row: Row): number => {
    const match = /^(\d+)([a-z]?)\./.exec(row.figure)
    return match ? Number(match[1]) + (match[2] ? (match[2].charCodeAt(0) - 96) / 100 : 0) : 99
  }
  return rows.map((row, i) => ({ row, i })).sort((a, b) => step(a.row) - step(b.row) || a.i - b.i).map(({ row }) => row)
}

function markdownTable(rows: Row[]): string {
  const out = ['| Figure | Baseline | Action | Action / baseline | Bar |', '|---|---:|---:|---:|---|']
  for (const r of rows) {
    const bar = r.bar ? `${r.bar}: **${r.pass ? 'pass' : 'FAIL'}**` : ''
    out.push(`| ${r.figure} | ${r.baseline ?? '–'} | ${r.action} | ${r.ratio ?? '–'} | ${bar} |`)
  }
  return out.join('\n')
}

function phaseTable(runs: ActionRun[], label: string): string {
  const names = runs[0]?.phases.map((p) => p.name) ?? []
  const cell = (name: string): number => median(runs.map((r) => r.phases.find((p) => p.name === name)?.ms ?? NaN))
  const inPhases = median(runs.map((r) => r.phases.reduce((s, p) => s + p.ms, 0)))
  const wall = median(runs.map((r) => r.wallMs))
  const out = [`| ${label} | median ms |`, '|---|---:|']
  for (const name of names) out.push(`| ${name} | ${Math.round(cell(name))} |`)
  out.push(`| (outside the phases: node start, inputs, outputs, summary) | ${Math.round(wall - inPhases)} |`)
  out.push(`| **wall** | **${Math.round(wall)}** |`)
  return out.join('\n')
}

/** Which action was measured: the commit, uncommitted changes under src/ and dist/, and the bundle's hash. */
async function provenance(): Promise<{ commit: string; dirty: string[]; distSha256: string }> {
  const git = async (args: string[]): Promise<string> =>
    (await runCommand('git', ['-C', REPO_ROOT, ...args], { timeoutMs: 20_000 }).catch(() => undefined))?.stdout.trim() ?? ''
  const bundle = await readFile(join(REPO_ROOT, 'dist', 'index.js')).catch(() => Buffer.alloc(0))
  return {
    commit: (await git(['rev-parse', '--short=12', 'HEAD'])) || 'unknown',
    dirty: lines(await git(['status', '--porcelain', '--', 'src', 'dist'])),
    distSha256: createHash('sha256').update(bundle).digest('hex').slice(0, 16)
  }
}

async function cpuModel(): Promise<string> {
  const text = await readFile('/proc/cpuinfo', 'utf8').catch(() => '')
  return /^model name\s*:\s*(.*)$/m.exec(text)?.[1]?.trim() ?? cpus()[0]?.model ?? 'unknown'
}

async function versionOf(cmd: string, args: string[]): Promise<string> {
  const r = await runCommand(cmd, args, { timeoutMs: 20_000 }).catch(() => undefined)
  return r ? (r.stdout.trim() || r.stderr.trim()).split('\n')[0] ?? '' : 'unavailable'
}

// ------------------------------------------------------------------------------------------ main
async function main(): Promise<void> {
  const startedAt = new Date()
  progress(`mode ${QUICK ? 'quick' : 'full'}; bringing up the sandbox`)
  const info = await ensureSandbox()
  if (!existsSync(join(REPO_ROOT, 'dist', 'index.js'))) throw new Error('dist/index.js is missing: run npm run build')

  progress(`building fixtures (cached by content): cold image random ${COLD.randomPaddingMiB} MiB + text ${COLD.paddingMiB} MiB`)
  const tag = `r${COLD.randomPaddingMiB}-p${COLD.paddingMiB}`
  const v1 = await buildApp({ tag: `${BENCH_REPO}:${tag}-v1`, version: 'bench-1', ...COLD })
  const v2 = await buildApp({ tag: `${BENCH_REPO}:${tag}-v2`, version: 'bench-2', ...COLD })
  let big: BuiltImage | undefined
  let big2: BuiltImage | undefined
  let large: BuiltImage | undefined
  if (!QUICK) {
    large = await buildApp({ tag: `${BENCH_REPO}:r${COLD_LARGE.randomPaddingMiB}-p${COLD_LARGE.paddingMiB}-v1`, version: 'bench-large', ...COLD_LARGE })
    progress('building the 1 GiB incompressible image (first time: about a minute)')
    big = await buildApp({ tag: `${BENCH_REPO}:r1024-v1`, version: 'bench-big-1', ...BIG })
    big2 = await buildApp({ tag: `${BENCH_REPO}:r1024-v2`, version: 'bench-big-2', ...BIG })
  }
  const ours = [v1, v2, ...(big ? [big] : []), ...(big2 ? [big2] : []), ...(large ? [large] : [])]
  const v1Layers = await diffIds('runner', v1.id)
  const v2Layers = await diffIds('runner', v2.id)
  progress(`v1 ${fmtBytes(v1.sizeBytes)} (${v1Layers.length} layers), v2 shares ${v2Layers.filter((d) => v1Layers.includes(d)).length} of its ${v2Layers.length} layers with v1` +
    (big ? `, big ${fmtBytes(big.sizeBytes)}` : ''))
  // Both sides read the image from the runner's page cache, not from disk.
  for (const image of ours) await runCommand('sh', ['-c', 'docker save "$1" >/dev/null', 'sh', image.id], { env: dockerRunnerEnv(), timeoutMs: 120_000 })

  let node24Path: string | undefined
  let node24Error: string | undefined
  progress('looking for Node 24 (zstd)')
  try {
    node24Path = await node24()
  } catch (error) {
    node24Error = (error as Error).message
    progress(`Node 24 unavailable, its rows are skipped: ${node24Error}`)
  }

  const measured = await provenance()
  progress(`measuring the action at ${measured.commit}${measured.dirty.length ? ` with uncommitted changes (${measured.dirty.join(', ')})` : ''}, dist/index.js ${measured.distSha256}`)
  const busyBefore = await waitForQuiet(QUICK ? 20_000 : 90_000)
  const loadBefore = loadAvg()
  progress(`CPU ${(busyBefore * 100).toFixed(0)}% busy before measuring (load ${loadBefore})`)
  const rows: Row[] = []
  const json: Record<string, unknown> = {}
  const stopWatch = startContentionWatch()
  try {
    await clearService()
    await evict([...ours, ...(await benchImagesOnHost())])
    await requireCold(ours)

    // ------------------------------------------------------------ 1. cold deploy
    await step('1. cold')
    const coldLayers = await layersOnHost(v1)
    progress(`1. cold deploy of ${v1.ref}: ${coldLayers.present} of ${coldLayers.total} layers on the host before (the busybox base is shared with other images)`)
    /** Most bottom layers of a cold image found on the host just before a cold send; 1 = only busybox. */
    let warmest = coldLayers.present
    const checkCold = async (image: BuiltImage): Promise<void> => {
      const found = await layersOnHost(image)
      warmest = Math.max(warmest, found.present)
      if (found.present > 1) progress(`   warning: ${found.present} of ${found.total} layers of ${image.ref} are on the host (another image shares them): this send is not cold`)
    }
    /** Medians of cold runs next to the baselines of the same reps. */
    const coldStats = (base: BaselineRun[], action: ActionRun[]) => ({
      baselineMs: median(base.map((b) => b.wallMs)),
      baselineBytes: median(base.map((b) => b.wireBytes)),
      actionMs: median(action.map((a) => a.wallMs)),
      transferMs: median(action.map((a) => a.transferMs)),
      actionBytes: median(action.map((a) => a.wireBytes)),
      /** Lowest and highest action / baseline of one pair. */
      pairRatios: [Math.min(...action.map((a, i) => a.wallMs / base[i].wallMs)), Math.max(...action.map((a, i) => a.wallMs / base[i].wallMs))]
    })
    const coldAction = async (image: BuiltImage, cold: BuiltImage[], label: string, inputs?: Record<string, string>): Promise<ActionRun> => {
      await clearService()
      await evict(cold)
      await checkCold(image)
      return runActionTimed(info, image.ref, { label, inputs })
    }
    /**
     * Baseline and action, cold each time (`cold` leave the host first), `reps` times; medians.
     * With `variant`, each rep also runs the action with those inputs, before or after the
     * default one by turns, so that the two compare over the same minutes of this noisy VM.
     */
    const coldRuns = async (image: BuiltImage, reps: number, cold: BuiltImage[] = ours, variant?: Record<string, string>) => {
      const base: BaselineRun[] = []
      const action: ActionRun[] = []
      const other: ActionRun[] = []
      const show = (who: string, i: number, a: ActionRun) =>
        progress(`   ${who} ${i + 1}/${reps}: ${fmtMs(a.wallMs)} (transfer ${fmtMs(a.transferMs)}), ${fmtBytes(a.wireBytes)} on the wire, ${a.skippedLayers} layers skipped`)
      for (let i = 0; i < reps; i++) {
        await clearService()
        await evict(cold)
        await checkCold(image)
        const b = await baseline(info, image.ref)
        base.push(b)
        progress(`   baseline ${i + 1}/${reps}: ${fmtMs(b.wallMs)}, ${fmtBytes(b.wireBytes)} on the wire`)
        const runs: (() => Promise<void>)[] = [
          async () => { action.push(await coldAction(image, cold, 'cold deploy')); show('action  ', i, action.at(-1)!) }
        ]
        if (variant) {
          const name = Object.entries(variant).map(([k, v]) => `${k}: ${v}`).join(', ')
          runs.push(async () => { other.push(await coldAction(image, cold, `cold deploy, ${name}`, variant)); show(name, i, other.at(-1)!) })
          if (i % 2 === 1) runs.reverse()
        }
        for (const next of runs) await next()
      }
      return { base, action, stats: coldStats(base, action), variant: variant ? { runs: other, stats: coldStats(base, other) } : undefined }
    }
    type ColdStats = Awaited<ReturnType<typeof coldRuns>>['stats']
    /** Wall time, transfer phase and bytes on the wire of a cold deploy next to the baseline's. */
    const coldRows = (wallFigure: string, prefix: string, stats: ColdStats): Row[] => [
      { figure: wallFigure, baseline: fmtMs(stats.baselineMs), action: fmtMs(stats.actionMs), ratio: ratio(stats.actionMs, stats.baselineMs) },
      { figure: `${prefix}: transfer phase alone`, baseline: fmtMs(stats.baselineMs), action: fmtMs(stats.transferMs), ratio: ratio(stats.transferMs, stats.baselineMs) },
      { figure: `${prefix}: bytes on the wire`, baseline: fmtBytes(stats.baselineBytes), action: fmtBytes(stats.actionBytes), ratio: ratio(stats.actionBytes, stats.baselineBytes) }
    ]
    /** `median of N; single pairs a-b×`, for a figure's label. */
    const pairsLabel = (reps: number, stats: ColdStats): string => {
      const [low, high] = stats.pairRatios
      return `median of ${reps}${reps > 1 ? `; single pairs ${low.toFixed(2)}-${high.toFixed(2)}×` : ''}`
    }
    const coldRowsFor = (label: string, image: BuiltImage, padding: typeof COLD, reps: number, stats: ColdStats): Row[] => {
      const name = `cold ${fmtBytes(image.sizeBytes)} image (${padding.randomPaddingMiB} MiB random + ${padding.paddingMiB} MiB text), Node ${process.versions.node}`
      return coldRows(`${label}. ${name}: wall time (${pairsLabel(reps, stats)})`, `${label}. cold`, stats)
    }
    /** One more cold deploy of v1 with other settings, against step 1's baseline. */
    const coldAgain = async (label: string, opts: { node?: string; inputs?: Record<string, string> }): Promise<ActionRun> => {
      await clearService()
      await evict(ours)
      await checkCold(v1)
      const run = await runActionTimed(info, v1.ref, { ...opts, label })
      progress(`   action: ${fmtMs(run.wallMs)} (transfer ${fmtMs(run.transferMs)}), ${fmtBytes(run.wireBytes)} on the wire`)
      return run
    }
    const againstStep1 = (run: ActionRun): ColdStats => ({ ...cold, actionMs: run.wallMs, transferMs: run.transferMs, actionBytes: run.wireBytes })
    const { base: coldBase, action: coldActions, stats: cold, variant: coldGzip } = await coldRuns(v1, COLD_REPS, ours, { compression: 'gzip' })
    rows.push(...coldRowsFor('1', v1, COLD, COLD_REPS, cold))
    json.cold = { image: { ref: v1.ref, id: v1.id, sizeBytes: v1.sizeBytes, ...COLD }, layersOnHostBefore: coldLayers, ...cold, baselineRuns: coldBase, actionRuns: coldActions }

    // ------------------------------------------------------------ 2. second version
    await step('2. second version')
    // The host now runs v1 (the last cold deploy); v2 differs only in its top layer.
    progress(`2. second version ${v2.ref} while the host has v1`)
    await evict([v2])
    const incBase = await baseline(info, v2.ref)
    progress(`   baseline: ${fmtMs(incBase.wallMs)}, ${fmtBytes(incBase.wireBytes)} on the wire`)
    await evict([v2])
    const inc = await runActionTimed(info, v2.ref, { label: 'second version' })
    progress(`   action:   ${fmtMs(inc.wallMs)} (transfer ${fmtMs(inc.transferMs)}), ${fmtBytes(inc.wireBytes)} on the wire, ${inc.skippedLayers} layers skipped`)
    rows.push(
      { figure: '2. second version (new top layer only): bytes on the wire', baseline: fmtBytes(incBase.wireBytes), action: fmtBytes(inc.wireBytes), ratio: ratio(inc.wireBytes, incBase.wireBytes), bar: '< 1 MiB', pass: inc.wireBytes < BARS.incrementalWireBytes },
      { figure: '2. second version: wall time (action: whole blue-green deploy)', baseline: fmtMs(incBase.wallMs), action: fmtMs(inc.wallMs), ratio: ratio(inc.wallMs, incBase.wallMs) },
      { figure: '2. second version: transfer phase alone', baseline: fmtMs(incBase.wallMs), action: fmtMs(inc.transferMs), ratio: ratio(inc.transferMs, incBase.wallMs) }
    )
    json.secondVersion = { image: { ref: v2.ref, id: v2.id, sizeBytes: v2.sizeBytes }, baseline: incBase, action: inc, bar: { wireBytesBelow: BARS.incrementalWireBytes, pass: inc.wireBytes < BARS.incrementalWireBytes } }

    // After step 2, which needs v1 live on the host.
    if (large) {
      await step('1b. cold, larger image')
      progress(`1b. cold deploy of ${large.ref}`)
      // Only the large image leaves the host: v1 and v2 stay for the redeploys of step 4.
      const larger = await coldRuns(large, 2, [large])
      rows.push(...coldRowsFor('1b', large, COLD_LARGE, 2, larger.stats))
      json.coldLarge = { image: { ref: large.ref, id: large.id, sizeBytes: large.sizeBytes, ...COLD_LARGE }, ...larger.stats, baselineRuns: larger.base, actionRuns: larger.action }
    }

    // ------------------------------------------------------------ 4. overhead
    await step('4. overhead')
    // v1 and v2 are both on the host now: each redeploy sends nothing.
    progress(`4. deploy overhead: ${OVERHEAD_RUNS} redeploys of images already on the host, each next to a bare docker run`)
    await hostDocker(['network', 'create', BOOT_NETWORK])
    const boots: number[] = []
    const redeploys: ActionRun[] = []
    for (let i = 0; i < OVERHEAD_RUNS; i++) {
      const image = i % 2 === 0 ? v1 : v2
      const boot = await appBoot(image)
      boots.push(boot)
      const run = await runActionTimed(info, image.ref, { label: `redeploy ${i + 1}` })
      redeploys.push(run)
      progress(`   run ${i + 1}/${OVERHEAD_RUNS}: app boot ${fmtMs(boot)}; action ${fmtMs(run.wallMs)}, transfer ${fmtMs(run.transferMs)}, ${run.wireBytes} bytes sent`)
    }
    await hostDocker(['network', 'rm', BOOT_NETWORK])
    const overheads = redeploys.map((r, i) => r.wallMs - r.transferMs - boots[i]!)
    const overhead = {
      bootMs: median(boots),
      actionMs: median(redeploys.map((r) => r.wallMs)),
      transferMs: median(redeploys.map((r) => r.transferMs)),
      overheadMs: median(overheads)
    }
    rows.push(
      { figure: `4. redeploy of an image already on the host: wall time (median of ${OVERHEAD_RUNS}; baseline: docker run → first 200)`, baseline: fmtMs(overhead.bootMs), action: fmtMs(overhead.actionMs), ratio: ratio(overhead.actionMs, overhead.bootMs) },
      { figure: '4. deploy overhead: action wall − transfer − app boot (median)', action: fmtMs(overhead.overheadMs), bar: '< 1 s', pass: overhead.overheadMs < BARS.overheadMs }
    )
    const breakdown = phaseTable(redeploys, 'Redeploy phase (image on the host)')
    json.overhead = { ...overhead, bootRuns: boots, overheadRuns: overheads, actionRuns: redeploys, breakdown, bar: { overheadBelowMs: BARS.overheadMs, pass: overhead.overheadMs < BARS.overheadMs } }

    // ------------------------------------------------------------ 5. Node 24 (zstd)
    await step('5. Node 24')
    if (node24Path) {
      const version = (await runCommand(node24Path, ['--version'])).stdout.trim()
      progress(`5. cold deploy again with Node ${version}, compression: zstd`)
      const zstd = { compression: 'zstd' }
      const z = await coldAgain('cold deploy on Node 24', { node: node24Path, inputs: zstd })
      await evict([v2])
      const z2 = await runActionTimed(info, v2.ref, { node: node24Path, label: 'second version on Node 24', inputs: zstd })
      progress(`   second version: ${fmtMs(z2.wallMs)} (transfer ${fmtMs(z2.transferMs)}), ${fmtBytes(z2.wireBytes)} on the wire`)
      rows.push(
        ...coldRows(`5. cold, Node ${version.replace(/^v/, '')} (zstd): wall time (baseline: step 1)`, '5. cold, Node 24', againstStep1(z)),
        { figure: '5. second version, Node 24: bytes on the wire', baseline: fmtBytes(incBase.wireBytes), action: fmtBytes(z2.wireBytes), ratio: ratio(z2.wireBytes, incBase.wireBytes), bar: '< 1 MiB', pass: z2.wireBytes < BARS.incrementalWireBytes }
      )
      json.node24 = { version, cold: z, secondVersion: z2 }
    } else {
      rows.push({ figure: '5. cold, Node 24 (zstd)', action: `skipped: ${node24Error ?? 'unavailable'}` })
      json.node24 = { skipped: node24Error }
    }

    // ------------------------------------------------------------ 6. compression: gzip
    // What auto picks for a host across a network (on Node 20), measured in step 1's reps next to
    // auto, which sends the image as it is to a host on the runner's own kernel.
    if (coldGzip) {
      rows.push(...coldRows(
        `6. cold, compression: gzip (auto for a host across a network), in step 1's reps: wall time (${pairsLabel(COLD_REPS, coldGzip.stats)})`,
        '6. cold, compression: gzip', coldGzip.stats
      ))
      json.coldGzip = { ...coldGzip.stats, actionRuns: coldGzip.runs }
    }

    // ------------------------------------------------------------ 3. 1 GiB: peak RSS and rate
    await step('3. 1 GiB')
    if (big) {
      progress(`3. ${big.ref} (${fmtBytes(big.sizeBytes)} incompressible): baseline, then the action under /usr/bin/time`)
      await clearService()
      await evict(ours)
      await checkCold(big)
      const bigBase = await baseline(info, big.ref, 240_000)
      const baseRate = bigBase.archiveBytes / (bigBase.wallMs / 1000)
      progress(`   baseline: ${fmtMs(bigBase.wallMs)}, ${fmtRate(baseRate)}`)
      const bigJson: Record<string, unknown> = {
        image: { ref: big.ref, id: big.id, sizeBytes: big.sizeBytes, ...BIG },
        baseline: { ...bigBase, rateBytesPerSec: baseRate }
      }
      json.big = bigJson
      const bigCold = async (node: string | undefined, label: string, compression: string): Promise<ActionRun> => {
        await clearService()
        await evict(ours)
        await checkCold(big)
        const run = await runActionTimed(info, big.ref, { node, measureRss: true, label: `1 GiB deploy on ${label}`, inputs: { compression } })
        const peak = run.peakRssBytes ?? 0
        // The action reads the same docker save archive (its skipped base layer included).
        const rate = bigBase.archiveBytes / (run.transferMs / 1000)
        progress(`   action on ${label}: ${fmtMs(run.wallMs)} (transfer ${fmtMs(run.transferMs)}, ${fmtRate(rate)}), ` +
          `peak RSS ${fmtBytes(peak)} (/usr/bin/time %M ${fmtBytes(run.timeMaxRssBytes ?? NaN)})`)
        rows.push(
          {
            figure: `3. ${fmtBytes(big.sizeBytes)} incompressible image, ${label}: peak RSS of the runner's node process (VmHWM; at the largest sample: anonymous + file-backed)`,
            action: `${fmtBytes(peak)} (${fmtBytes(run.peakAnonBytes ?? NaN)} + ${fmtBytes(run.peakFileBytes ?? NaN)})`,
            bar: '< 150 MiB',
            pass: peak > 0 && peak < BARS.peakRssBytes
          },
          { figure: `3. 1 GiB, ${label}: transfer rate (archive bytes / transfer phase)`, baseline: fmtRate(baseRate), action: fmtRate(rate), ratio: ratio(rate, baseRate) },
          { figure: `3. 1 GiB, ${label}: transfer phase (baseline: whole pipeline)`, baseline: fmtMs(bigBase.wallMs), action: fmtMs(run.transferMs), ratio: ratio(run.transferMs, bigBase.wallMs) },
          { figure: `3. 1 GiB, ${label}: bytes on the wire`, baseline: fmtBytes(bigBase.wireBytes), action: fmtBytes(run.wireBytes), ratio: ratio(run.wireBytes, bigBase.wireBytes) }
        )
        return run
      }
      const node20Run = await bigCold(undefined, `Node ${process.versions.node} (gzip)`, 'gzip')
      bigJson.action = { ...node20Run, rateBytesPerSec: bigBase.archiveBytes / (node20Run.transferMs / 1000) }
      bigJson.bar = { peakRssBelowBytes: BARS.peakRssBytes, pass: (node20Run.peakRssBytes ?? 0) > 0 && (node20Run.peakRssBytes ?? 0) < BARS.peakRssBytes }
      if (node24Path) {
        const version = (await runCommand(node24Path, ['--version'])).stdout.trim().replace(/^v/, '')
        const node24Run = await bigCold(node24Path, `Node ${version} (zstd)`, 'zstd')
        bigJson.node24 = { ...node24Run, rateBytesPerSec: bigBase.archiveBytes / (node24Run.transferMs / 1000) }
      }
      if (big2) {
        // Same 1 GiB base, new top layer: what a second version costs when the base is big.
        progress(`   second version ${big2.ref} on the same 1 GiB base (Node ${process.versions.node})`)
        await evict([big2])
        const big2Run = await runActionTimed(info, big2.ref, { measureRss: true, label: '1 GiB second version' })
        progress(`   action: ${fmtMs(big2Run.wallMs)} (transfer ${fmtMs(big2Run.transferMs)}), ${fmtBytes(big2Run.wireBytes)} on the wire, ${big2Run.skippedLayers} layers skipped`)
        rows.push(
          { figure: '3. 1 GiB base, second version (new top layer only): bytes on the wire (baseline: whole image)', baseline: fmtBytes(bigBase.wireBytes), action: fmtBytes(big2Run.wireBytes), ratio: ratio(big2Run.wireBytes, bigBase.wireBytes), bar: '< 1 MiB', pass: big2Run.wireBytes < BARS.incrementalWireBytes },
          { figure: '3. 1 GiB base, second version: transfer phase (baseline: whole pipeline)', baseline: fmtMs(bigBase.wallMs), action: fmtMs(big2Run.transferMs), ratio: ratio(big2Run.transferMs, bigBase.wallMs) },
        )
        bigJson.secondVersion = { image: { ref: big2.ref, id: big2.id }, action: big2Run }
        // The same build under a new tag (a new commit that changed nothing in the image).
        const again = `${big2.ref}-again`
        await runnerDocker(['tag', big2.ref, again])
        progress(`   the same build as ${again}`)
        const againRun = await runActionTimed(info, again, { label: '1 GiB same build, new tag' })
        await runnerDocker(['image', 'rm', again])
        progress(`   action: ${fmtMs(againRun.wallMs)} (transfer ${fmtMs(againRun.transferMs)}), ${fmtBytes(againRun.wireBytes)} on the wire`)
        rows.push({
          figure: '3. 1 GiB, the same build under a new tag: transfer phase (baseline: whole pipeline)',
          baseline: fmtMs(bigBase.wallMs), action: `${fmtMs(againRun.transferMs)}, ${fmtBytes(againRun.wireBytes)} sent`, ratio: ratio(againRun.transferMs, bigBase.wallMs)
        })
        bigJson.sameBuildNewTag = { ref: again, action: againRun }
      }
    } else {
      rows.push({ figure: '3. 1 GiB image: peak RSS and rate', action: 'skipped (--quick)' })
    }

    // ------------------------------------------------------------ report
    currentStep = 'report'
    const durationMs = performance.now() - T0
    const meta = {
      date: startedAt.toISOString(),
      mode: QUICK ? 'quick' : 'full',
      cpu: await cpuModel(),
      cores: cpus().length,
      node: process.version,
      node24: json.node24 && (json.node24 as { version?: string }).version,
      dockerRunner: (await runnerDocker(['version', '--format', '{{.Server.Version}}'])).stdout.trim(),
      dockerHost: (await hostDocker(['version', '--format', '{{.Server.Version}}'])).stdout.trim(),
      openssh: await versionOf('ssh', ['-V']),
      gzip: await versionOf('gzip', ['--version']),
      sshUser: info.users.deploy,
      durationMs: Math.round(durationMs),
      cpuBusyBefore: Number(busyBefore.toFixed(2)),
      loadAvgBefore: loadBefore,
      loadAvgAfter: loadAvg(),
      /** Seconds per step during which another session's jest, demo or action process ran. */
      contendedSeconds: contended,
      /** Most bottom layers of a cold image that were on the host before a cold send (1 = busybox only). */
      warmestColdLayers: warmest,
      action: measured,
      /** dist/index.js was rebuilt during the run when this differs from action.distSha256. */
      distSha256After: (await provenance()).distSha256
    }
    const notes = [
      `Baseline: \`docker save IMG | gzip | ssh -p ${info.port} -i KEY ${info.users.deploy}@127.0.0.1 'gunzip | docker load'\` (OpenSSH client, gzip level 6), bytes counted between gzip and ssh. Action: dist/index.js run as the GitHub runner runs it, as ${info.users.deploy}, service ${SERVICE}, network ${NETWORK}, proxy port ${PROXY_PORT}.`,
      "Codecs: the sandbox host runs on the runner's own kernel, where the action's default `compression: auto` sends the image uncompressed (there is no network to save time on). Steps 1, 2 and 4 run that default; step 6 is `compression: gzip`, what auto picks for a host across a network on Node 20, run in each of step 1's reps (before or after the default by turns); steps 3 and 5 name their codec.",
      `Cold: the image is removed from the host engine (rmi by ID, no container uses it) before every cold send, and the host's layers are checked just before it: ` +
        (warmest <= 1
          ? 'only the bottom layer (the 1 MiB busybox base, which every sandbox app image shares) was ever there, so the action skips that one layer.'
          : `**up to ${warmest} bottom layers were already there (another image on the shared sandbox host has them): those sends were not fully cold.**`),
      Object.keys(contended).length
        ? `**Other sessions' jest, demo or action processes ran during: ${Object.entries(contended).map(([k, v]) => `${k} (${v} s)`).join(', ')}. Those figures are skewed by the shared 2-core machine.**`
        : 'No other jest, demo or action process ran on the machine during the measurements.',
      'Action wall time: from spawning node until it exits, every phase included (connect, check, lock, transfer, proxy, candidate, health, switch, record, retire); phases timed from its ::group:: lines.',
      'App boot: `docker run -d` of the same image on the host engine until its first 200 on /health (published on 127.0.0.1), polled every 10 ms.'
    ]
    const transferLogs: [string, ActionRun | undefined][] = [
      ['cold (step 1, last run)', coldActions[coldActions.length - 1]],
      ['second version (step 2)', inc],
      ['cold on Node 24 (step 5)', (json.node24 as { cold?: ActionRun }).cold],
      ['second version on Node 24 (step 5)', (json.node24 as { secondVersion?: ActionRun }).secondVersion],
      ['cold, compression: gzip (step 6, last run)', coldGzip?.runs.at(-1)],
      ['1 GiB (step 3)', (json.big as { action?: ActionRun } | undefined)?.action],
      ['1 GiB on Node 24 (step 3)', (json.big as { node24?: ActionRun } | undefined)?.node24],
      ['1 GiB second version (step 3)', (json.big as { secondVersion?: { action: ActionRun } } | undefined)?.secondVersion?.action]
    ]
    const md = [
      `# Benchmark: bluegreen-deploy vs docker save | gzip | ssh | docker load`,
      '',
      `Action at ${measured.commit}${measured.dirty.length ? ` + uncommitted changes to ${measured.dirty.map((d) => d.replace(/^\S+\s+/, '')).join(', ')}` : ''} (dist/index.js ${measured.distSha256}${meta.distSha256After !== measured.distSha256 ? `; **rebuilt during the run, now ${meta.distSha256After}**` : ''})`,
      '',
      `${meta.date} · ${meta.mode} run · ${meta.cpu}, ${meta.cores} cores · Node ${meta.node}${meta.node24 ? ` and ${meta.node24}` : ''} · Docker ${meta.dockerRunner} (runner) / ${meta.dockerHost} (host) · ${meta.openssh} · loopback SSH · run took ${fmtMs(durationMs)} · CPU ${(busyBefore * 100).toFixed(0)}% busy before the run, load average ${meta.loadAvgBefore} → ${meta.loadAvgAfter}`,
      '',
      markdownTable(byStep(rows)),
      '',
      '## Redeploy breakdown (step 4)',
      '',
      breakdown,
      '',
      '## Cold deploy phases (step 1, median)',
      '',
      phaseTable(coldActions, 'Cold deploy phase'),
      '',
      '## What the action logged about its transfers',
      '',
      ...transferLogs.flatMap(([label, run]) => run ? [`- ${label}:`, ...run.transferLog.map((line) => `  - \`${line}\``)] : []),
      '',
      '## Notes',
      '',
      ...notes.map((n) => `- ${n}`),
      ''
    ].join('\n')
    await mkdir(join(REPO_ROOT, 'bench'), { recursive: true })
    await writeFile(join(REPO_ROOT, 'bench', 'results.json'), JSON.stringify({ meta, rows: byStep(rows), notes, results: json }, null, 2) + '\n')
    await writeFile(join(REPO_ROOT, 'bench', 'results.md'), md)
    process.stdout.write(`\n${md}\n`)
    progress('wrote bench/results.json and bench/results.md')
    const failed = rows.filter((r) => r.bar && !r.pass)
    if (failed.length) progress(`bars missed: ${failed.map((r) => r.figure).join('; ')}`)
  } finally {
    stopWatch()
    progress('cleaning up the host engine (runner images stay cached)')
    await clearService().catch((error: Error) => progress(`cleanup: ${error.message}`))
    await benchImagesOnHost()
      .then((left) => evict([...ours, ...left]))
      .catch((error: Error) => progress(`cleanup: ${error.message}`))
  }
}

main().then(
  () => progress('done'),
  (error: unknown) => {
    progress(`failed: ${error instanceof Error ? error.stack ?? error.message : String(error)}`)
    process.exitCode = 1
  }
)
