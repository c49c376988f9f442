// The newcomer demo: the action's main job, for real, on this one machine. A local "server" (the
// shared sandbox: sshd on 127.0.0.1 in front of a second Docker engine) gets v1, then v2 while
// requests flow through its proxy, then a v3 that crashes at boot (refused, v2 keeps serving),
// then `rollback: true` (v1 again, nothing sent). Each run is dist/index.js, run as the runner
// runs it. `npm run demo -- --down` removes what the demo left and stops the sandbox.
//
//   npm run demo                 # proxy on port 8080
//   npm run demo -- --port 18080
//   npm run demo -- --down
import { existsSync } from 'node:fs'
import { mkdtemp, writeFile } from 'node:fs/promises'
import net from 'node:net'
import { join } from 'node:path'
import { ACTION_ENTRY, REPO_ROOT, runAction, sandboxInputs, type ActionResult } from '../sandbox/action.js'
import { buildApp } from '../sandbox/fixtures.js'
import { httpGet, startLoad, type LoadStats } from '../sandbox/load.js'
import {
  SANDBOX_INFO_PATH, SANDBOX_SCRIPT, ensureSandbox, hostDocker, hostSsh, readSandboxInfo, runCommand, runnerDocker, type SandboxInfo
} from '../sandbox/sandbox.js'

const SERVICE = 'demo'
const NETWORK = 'demo'
const PROXY = `${NETWORK}-proxy`
const STATE_ROOT = '/var/lib/bluegreen'
const HOST_DIRS = [`${STATE_ROOT}/${SERVICE}`, `${STATE_ROOT}/_proxy/${NETWORK}`]
const REPO = 'bluegreen-demo/app'
const TAGS = { v1: `${REPO}:v1`, v2: `${REPO}:v2`, v3: `${REPO}:v3` }
/** Served as `version=<v>`; spelled so no other fixture on a shared sandbox builds the same image. */
const VERSIONS = { v1: '1.0.0', v2: '2.0.0', v3: '3.0.0' }
const DEFAULT_PORT = 8080
/** Bounds of each load loop: it runs while one action run does, and stops by itself anyway. */
const LOAD = { concurrency: 4, intervalMs: 5, maxRequests: 50_000, maxMs: 60_000 }
const ACTION_TIMEOUT_MS = 5 * 60_000

/** A failure the user can act on: printed as one message, no stack trace. */
class DemoError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message)
  }
}

const say = (line = ''): void => {
  process.stdout.write(`${line}\n`)
}
const indent = '      '

// ------------------------------------------------------------------------------------------ args
interface Args {
  down: boolean
  port: number
}

const USAGE = 'usage: npm run demo [-- --port N]   |   npm run demo -- --down'

function parseArgs(argv: string[]): Args {
  const args: Args = { down: false, port: DEFAULT_PORT }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--down') args.down = true
    else if (arg === '--port' || arg.startsWith('--port=')) {
      const value = arg === '--port' ? argv[++i] : arg.slice('--port='.length)
      if (!value || !/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 65535) {
        throw new DemoError(`--port: expected a port number 1-65535, got ${JSON.stringify(value ?? '')}\n${USAGE}`, 2)
      }
      args.port = Number(value)
    } else if (arg === '--help' || arg === '-h') {
      say(USAGE)
      process.exit(0)
    } else throw new DemoError(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`, 2)
  }
  return args
}

// --------------------------------------------------------------------------------------- helpers
function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`
}

/** `| send the image | 1.8 s |` rows of the job summary's phase table, total last. */
function parsePhases(summary: string): { name: string; time: string }[] {
  const phases: { name: string; time: string }[] = []
  let inTable = false
  for (const line of summary.split('\n')) {
    if (/^\| Phase \| Time \|/.test(line)) inTable = true
    else if (inTable && !line.startsWith('|')) break
    else if (inTable) {
      const match = /^\| (?:\*\*)?([^|*]+?)(?:\*\*)? \| (?:\*\*)?([^|*]+?)(?:\*\*)? \|$/.exec(line)
      if (match) phases.push({ name: match[1] ?? '', time: match[2] ?? '' })
    }
  }
  return phases
}

/** Undoes the runner's escaping of a workflow command's data (%25, %0D, %0A). */
function unescapeCommand(data: string): string {
  return data.replace(/%0D/g, '\r').replace(/%0A/g, '\n').replace(/%25/g, '%')
}

/** The message of the action's `::error::` line (core.setFailed), all its lines. */
function errorLines(stdout: string): string[] {
  const line = stdout.split('\n').find((l) => l.startsWith('::error::'))
  return line ? unescapeCommand(line.slice('::error::'.length)).split(/\r?\n/) : []
}

/**
 * The action's stdout as the runner would show it: `::add-mask::` lines (the SSH key, line by
 * line) are commands to the runner, never shown, and every masked value reads `***`.
 */
function maskedLog(stdout: string): string {
  const secrets: string[] = []
  const kept: string[] = []
  for (const line of stdout.split('\n')) {
    if (line.startsWith('::add-mask::')) secrets.push(...unescapeCommand(line.slice('::add-mask::'.length)).split('\n'))
    else kept.push(line)
  }
  let text = kept.join('\n')
  for (const secret of secrets.map((s) => s.trim()).filter((s) => s.length > 0).sort((a, b) => b.length - a.length)) {
    text = text.split(secret).join('***')
  }
  return text
}

/** One GET through the proxy; the body's first line and the slot header, or the error. */
async function ask(port: number): Promise<{ ok: boolean; text: string; body: string }> {
  try {
    const reply = await httpGet(`http://127.0.0.1:${port}/`, { timeoutMs: 5000 })
    const body = reply.body.split('\n')[0] ?? ''
    const slot = reply.headers['x-bluegreen-slot']
    return {
      ok: reply.status === 200,
      body,
      text: `HTTP ${reply.status} ${body}${typeof slot === 'string' ? ` (from ${slot})` : ''}`
    }
  } catch (error) {
    return { ok: false, body: '', text: `no answer: ${(error as Error).message}` }
  }
}

function describeLoad(stats: LoadStats): string {
  const versions = Object.entries(stats.bodies)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([body, count]) => `${count} ${body}`)
    .join(', ')
  const failed = stats.failed === 0 ? '0 failed' : `${stats.failed} FAILED (${stats.errors.slice(0, 3).join('; ')})`
  return `${stats.ok} served${versions ? ` (${versions})` : ''}, ${failed} in ${secs(stats.durationMs)}`
}

// ----------------------------------------------------------------------------------------- host
/** Removes the demo's containers, proxy, network and host folders; the images too if asked. */
async function clearDemo(info: SandboxInfo, opts: { images: boolean }): Promise<void> {
  const labelled = await hostDocker(['ps', '-aq', '--filter', `label=bluegreen.service=${SERVICE}`])
  const ids = labelled.stdout.split('\n').filter(Boolean)
  await hostDocker(['rm', '-f', ...ids, `${SERVICE}-blue`, `${SERVICE}-green`, PROXY], { timeoutMs: 120_000 })
  const network = await hostDocker(['network', 'rm', NETWORK])
  if (network.code !== 0 && !/not found/i.test(network.stderr)) {
    throw new DemoError(`could not remove the host's Docker network ${NETWORK}: ${network.stderr.trim()}`)
  }
  const rmDirs = `rm -rf ${HOST_DIRS.map((d) => `'${d}'`).join(' ')}`
  // The deploy user owns what the demo's runs wrote; root only if something else wrote there.
  let removed = await hostSsh(rmDirs, { user: info.users.deploy, timeoutMs: 60_000 })
  if (removed.code !== 0) removed = await hostSsh(rmDirs, { timeoutMs: 60_000 })
  if (removed.code !== 0) throw new DemoError(`could not remove ${HOST_DIRS.join(' and ')} on the host: ${removed.stderr.trim()}`)
  // So that v1 really travels: the host must not have the demo's images from a run before.
  if (opts.images) await hostDocker(['image', 'rm', '-f', ...Object.values(TAGS)])
}

/** Refuses a proxy port that something other than the demo's proxy (removed by now) holds. */
async function checkPortFree(port: number): Promise<void> {
  const free = await new Promise<boolean>((resolve) => {
    const server = net.createServer()
    server.once('error', () => resolve(false))
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)))
  })
  if (free) return
  const ss = await runCommand('ss', ['-Hltnp', `sport = :${port}`], { timeoutMs: 10_000 }).catch(() => undefined)
  const who = /users:\(\("([^"]+)",pid=(\d+)/.exec(ss?.stdout ?? '')
  const holder = who ? ` by ${who[1]} (pid ${who[2]})` : ''
  throw new DemoError(
    `port ${port} is taken${holder}, not by the demo's proxy: stop that, or pick another port, e.g. npm run demo -- --port ${port === 18080 ? 18081 : 18080}`
  )
}

// -------------------------------------------------------------------------------------- the runs
interface Step {
  label: string
  result: ActionResult
  load?: LoadStats
  /** The load loop hit one of its bounds before the action ended: not the whole switch was covered. */
  loadCutShort: boolean
  logFile: string
}

class Demo {
  readonly steps: Step[] = []
  private count = 0

  constructor(
    private readonly info: SandboxInfo,
    private readonly port: number,
    private readonly logDir: string
  ) {}

  inputs(extra: Record<string, string>): Record<string, string> {
    return sandboxInputs(this.info, {
      username: this.info.users.deploy,
      service: SERVICE,
      network: NETWORK,
      'proxy-port': String(this.port),
      ...extra
    })
  }

  /** Runs the action once (with a load loop through the proxy when `underLoad`), logs it to a file. */
  async run(label: string, file: string, inputs: Record<string, string>, underLoad: boolean): Promise<Step> {
    this.count++
    say(`[${this.count}/4] ${label}`)
    const load = underLoad ? startLoad({ url: `http://127.0.0.1:${this.port}/`, ...LOAD }) : undefined
    let loadEnded = false
    void load?.done.then(() => {
      loadEnded = true
    })
    const result = await runAction(inputs, { timeoutMs: ACTION_TIMEOUT_MS })
    const loadCutShort = loadEnded
    const stats = await load?.stop()
    const logFile = join(this.logDir, file)
    const parts = [maskedLog(result.stdout)]
    if (result.stderr.trim()) parts.push(`\n----- stderr -----\n${maskedLog(result.stderr)}`)
    if (result.timedOut) parts.push(`\n----- killed after ${ACTION_TIMEOUT_MS} ms -----\n`)
    await writeFile(logFile, parts.join(''))
    await writeFile(logFile.replace(/\.log$/, '.summary.md'), result.summary)
    const step: Step = { label, result, load: stats, loadCutShort, logFile }
    this.steps.push(step)
    return step
  }

  /** What every successful run prints: slot, bytes, phases, load. */
  reportSuccess(step: Step): void {
    const { outputs, summary } = step.result
    const sent = Number(outputs['transferred-bytes'] ?? 0)
    // The summary's image line: "sent 0.0 MiB of 1.9 MiB (1 of 2 layers already on the host) in 473 ms, 0.0 MiB/s, gzip."
    const imageLine = summary.split('\n').find((line) => line.startsWith('**Image:**')) ?? ''
    const layers = /\((\d+ of \d+) layers already on the host\)/.exec(imageLine)?.[1] ?? `${outputs['skipped-layers']}`
    const codec = /, (zstd|gzip|none)\.$/.exec(imageLine)?.[1]
    const bytes = sent > 0
      ? `sent ${formatBytes(sent)}${codec ? ` (${codec})` : ''}, ${layers} layers already on the host`
      : 'nothing sent: the image was already on the host'
    say(`${indent}live: ${outputs.slot} (${outputs.container}); ${bytes}`)
    this.reportPhases(summary, step.result.durationMs)
    this.reportLoad(step)
  }

  reportPhases(summary: string, durationMs: number): void {
    const phases = parsePhases(summary)
    if (phases.length === 0) {
      say(`${indent}run took ${secs(durationMs)}`)
      return
    }
    // Wrapped, so a narrow terminal still reads it as a table of sorts.
    const items = phases.map((p) => `${p.name} ${p.time}`)
    let line = `${indent}phases:`
    for (const item of items) {
      if (line.length + item.length + 3 > 100) {
        say(line)
        line = `${indent}       `
      }
      line += line.endsWith(' ') || line.endsWith(':') ? ` ${item}` : ` · ${item}`
    }
    say(line)
  }

  reportLoad(step: Step): void {
    if (!step.load) return
    say(`${indent}requests during the run: ${describeLoad(step.load)}`)
    if (step.loadCutShort) say(`${indent}(the load loop hit its bound before the run ended: only part of it was under load)`)
  }

  failed(): number {
    return this.steps.reduce((sum, step) => sum + (step.load?.failed ?? 0), 0)
  }

  served(): number {
    return this.steps.reduce((sum, step) => sum + (step.load?.ok ?? 0), 0)
  }
}

async function ensureBundle(): Promise<void> {
  if (existsSync(ACTION_ENTRY)) return
  say('dist/index.js is missing: building it (npm run build)')
  const build = await runCommand('npm', ['run', 'build'], { timeoutMs: 300_000, env: { ...process.env } })
  if (build.code !== 0 || !existsSync(ACTION_ENTRY)) {
    throw new DemoError(`npm run build failed (exit ${build.code}):\n${(build.stdout + build.stderr).trim().split('\n').slice(-20).join('\n')}`)
  }
}

async function startSandbox(): Promise<SandboxInfo> {
  // sandbox.sh says this too, but on a Mac its bash 3.2 may stop before it gets to say it.
  if (process.platform !== 'linux') {
    throw new DemoError(`the local sandbox server needs Linux (this is ${process.platform})\nrun the demo on a Debian or Ubuntu machine (or VM) as root: sudo npm run demo`, 2)
  }
  try {
    return await ensureSandbox()
  } catch (error) {
    const message = (error as Error).message
    // sandbox.sh exits 2 with one line when it cannot run here (not Linux, not root, no apt-get).
    if (/\(exit 2\)/.test(message)) {
      const reason = message.split('\n').find((l) => l.startsWith('sandbox: '))?.replace(/^sandbox: /, '') ?? message
      const what = /needs root/.test(reason)
        ? 'run: sudo npm run demo'
        : 'run the demo on a Debian or Ubuntu machine (or VM) as root: sudo npm run demo'
      throw new DemoError(`cannot start the local sandbox server: ${reason.replace(/; run: .*$/, '')}\n${what}`, 2)
    }
    throw new DemoError(`cannot start the local sandbox server (sandbox/sandbox.sh up):\n${message}`)
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)
}

async function demo(port: number): Promise<number> {
  const started = Date.now()
  say(`bluegreen-deploy demo: deploys to a local sandbox server, blue-green behind its nginx proxy on port ${port}`)
  const info = await startSandbox()
  await ensureBundle()

  const logDir = await mkdtemp(`/tmp/bluegreen-demo-${stamp()}-`)
  say(`server: ssh ${info.users.deploy}@${info.host}:${info.port} (host key ${info.fingerprint}), in front of a second Docker engine`)

  await clearDemo(info, { images: true })
  await checkPortFree(port)

  const t0 = Date.now()
  const v1 = await buildApp({ tag: TAGS.v1, version: VERSIONS.v1 })
  const v2 = await buildApp({ tag: TAGS.v2, version: VERSIONS.v2 })
  const v3 = await buildApp({ tag: TAGS.v3, version: VERSIONS.v3, variant: 'crash' })
  say(`images built on the runner's engine in ${secs(Date.now() - t0)}: ${v1.ref}, ${v2.ref}, ${v3.ref} (v3 exits at boot: "boot failed: missing config")`)
  say(`action logs: ${logDir}/`)
  say()

  const d = new Demo(info, port, logDir)
  const problems: string[] = []
  const url = `http://127.0.0.1:${port}/`

  // 1. v1: the first release, nothing served before it.
  const s1 = await d.run(`Deploy ${v1.ref} (first release: nothing to switch from)`, '1-deploy-v1.log', d.inputs({ image: v1.ref }), false)
  if (s1.result.code !== 0) {
    say(`${indent}FAILED (exit ${s1.result.code}): ${errorLines(s1.result.stdout)[0] || s1.result.stderr.trim()}`)
    say(`${indent}log: ${s1.logFile}`)
    return finish(d, [`the first deploy (v1) failed: see ${s1.logFile}`], port, started)
  }
  d.reportSuccess(s1)
  say(`${indent}curl ${url} → ${(await ask(port)).text}`)
  say(`${indent}log: ${s1.logFile}`)

  // 2. v2 under load: the switch must drop nothing.
  const s2 = await d.run(`Deploy ${v2.ref} while 4 clients keep requesting ${url}`, '2-deploy-v2.log', d.inputs({ image: v2.ref }), true)
  const after2 = await ask(port)
  if (s2.result.code === 0) {
    d.reportSuccess(s2)
    say(`${indent}curl ${url} → ${after2.text}`)
    if (after2.body !== `version=${VERSIONS.v2}`) problems.push(`after the v2 deploy the proxy answers "${after2.text}", not version=${VERSIONS.v2}`)
  } else {
    say(`${indent}FAILED (exit ${s2.result.code}): ${errorLines(s2.result.stdout)[0] || s2.result.stderr.trim()}`)
    d.reportLoad(s2)
    problems.push(`v2 did not go live: see ${s2.logFile}`)
  }
  say(`${indent}log: ${s2.logFile}`)

  // 3. The broken v3: refused before the switch, v2 keeps serving.
  const s3 = await d.run(`Deploy ${v3.ref}, which crashes at boot, under the same load`, '3-deploy-v3-broken.log', d.inputs({ image: v3.ref }), true)
  const after3 = await ask(port)
  if (s3.result.code !== 0) {
    const lines = errorLines(s3.result.stdout)
    say(`${indent}refused (exit ${s3.result.code}) after ${secs(s3.result.durationMs)}: ${lines[0] ?? s3.result.stderr.trim()}`)
    const logAt = lines.findIndex((line) => line.startsWith('Last log lines of '))
    if (logAt >= 0 && lines[logAt + 1]) say(`${indent}the container printed: ${lines[logAt + 1]}`)
    const kept = lines.find((line) => line.startsWith('The host is as before'))
    if (kept) say(`${indent}${kept}`)
  } else {
    say(`${indent}NOT refused: the action exited 0`)
    problems.push('the broken v3 was not refused (the action exited 0)')
  }
  d.reportLoad(s3)
  say(`${indent}curl ${url} → ${after3.text}`)
  if (after3.body !== `version=${VERSIONS.v2}`) problems.push(`after the refused v3 the proxy answers "${after3.text}", not version=${VERSIONS.v2}`)
  say(`${indent}log: ${s3.logFile}`)

  // 4. Rollback: no image, the host's record says what to go back to; nothing travels.
  const s4 = await d.run('Roll back (rollback: true, no image input)', '4-rollback.log', d.inputs({ rollback: 'true' }), true)
  const after4 = await ask(port)
  if (s4.result.code === 0) {
    const o = s4.result.outputs
    say(`${indent}rolled back to ${o.image} on ${o.slot} (${o.container}); a rollback now would return to ${o['previous-image'] || 'nothing'}`)
    d.reportSuccess(s4)
    say(`${indent}curl ${url} → ${after4.text}`)
    if (o.image !== v1.ref) problems.push(`the rollback brought ${o.image || 'nothing'} back, not ${v1.ref}`)
    if (o['transferred-bytes'] !== '0') problems.push(`the rollback sent ${o['transferred-bytes']} bytes, not 0`)
    if (after4.body !== `version=${VERSIONS.v1}`) problems.push(`after the rollback the proxy answers "${after4.text}", not version=${VERSIONS.v1}`)
  } else {
    say(`${indent}FAILED (exit ${s4.result.code}): ${errorLines(s4.result.stdout)[0] || s4.result.stderr.trim()}`)
    d.reportLoad(s4)
    problems.push(`the rollback failed: see ${s4.logFile}`)
  }
  say(`${indent}log: ${s4.logFile}`)

  for (const step of d.steps) {
    if (step.load && step.load.failed > 0) problems.push(`${step.load.failed} request(s) failed during "${step.label}"`)
    if (step.loadCutShort) problems.push(`the load loop ended before "${step.label}" did, so part of it went unobserved`)
  }
  return finish(d, problems, port, started)
}

function finish(d: Demo, problems: string[], port: number, started: number): number {
  say()
  const took = secs(Date.now() - started)
  if (problems.length === 0) {
    say(`OK in ${took}: v2 went live, the broken v3 was refused, the rollback brought v1 back; ${d.served()} requests served during the switches, ${d.failed()} failed.`)
  } else {
    say(`FAILED after ${took}:`)
    for (const problem of problems) say(`  - ${problem}`)
  }
  say()
  say('The sandbox server keeps running:')
  say(`  open the app:  curl http://127.0.0.1:${port}/`)
  say('  tear it down:  npm run demo -- --down')
  return problems.length === 0 ? 0 : 1
}

// ------------------------------------------------------------------------------------------ down
async function down(): Promise<number> {
  const engine = await hostDocker(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 20_000 })
  if (engine.code === 0 && existsSync(SANDBOX_INFO_PATH)) {
    say(`removing the demo's containers, its proxy ${PROXY}, network ${NETWORK}, images and ${HOST_DIRS.join(', ')}`)
    await clearDemo(readSandboxInfo(), { images: true })
    await runnerDocker(['image', 'rm', '-f', ...Object.values(TAGS)], { timeoutMs: 60_000 })
  } else if (/permission denied/i.test(engine.stderr)) {
    throw new DemoError('cannot reach the sandbox\'s Docker engine (permission denied): it needs root\nrun: sudo npm run demo -- --down', 2)
  } else {
    say('the sandbox is not running: nothing of the demo to remove')
  }
  say('stopping the sandbox (sandbox/sandbox.sh down)')
  const result = await runCommand('bash', [SANDBOX_SCRIPT, 'down'], { timeoutMs: 300_000 })
  const output = (result.stdout + result.stderr).trim()
  if (result.code === 2) {
    throw new DemoError(`${output.replace(/^sandbox: /, '').replace(/; run: .*$/, '')}\nrun: sudo npm run demo -- --down`, 2)
  }
  if (result.code !== 0) throw new DemoError(`sandbox/sandbox.sh down failed (exit ${result.code}):\n${output}`)
  if (output) say(output)
  return 0
}

// ------------------------------------------------------------------------------------------ main
async function main(): Promise<void> {
  process.chdir(REPO_ROOT)
  let code: number
  try {
    const args = parseArgs(process.argv.slice(2))
    code = args.down ? await down() : await demo(args.port)
  } catch (error) {
    if (error instanceof DemoError) {
      process.stderr.write(`demo: ${error.message}\n`)
      code = error.exitCode
    } else {
      process.stderr.write(`demo: unexpected failure: ${(error as Error).stack ?? String(error)}\n`)
      code = 1
    }
  }
  process.exitCode = code
}

await main()
