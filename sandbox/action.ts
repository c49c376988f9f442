// Runs the bundled action (dist/index.js) the way the GitHub runner does: inputs as INPUT_* env
// vars, outputs and step summary through files, and a fresh RUNNER_TEMP.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { collectChild, type SandboxInfo } from './sandbox.js'

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..')
export const ACTION_ENTRY = join(REPO_ROOT, 'dist', 'index.js')

export interface ActionOptions {
  /** Kill (SIGKILL) the action after this long; default 10 minutes. */
  timeoutMs?: number
  /** Extra environment; an undefined value removes that variable. */
  env?: Record<string, string | undefined>
  /** Also copy the action's stdout and stderr to our stderr as they come. */
  echo?: boolean
  /** The node binary to run the action with; default this process's (see node24.ts). */
  node?: string
  /** The bundle to run; default dist/index.js (a benchmark's A/B runs another commit's build). */
  entry?: string
  /** Run the action as this local user instead of root, as GitHub's runner runs it (info.users.runner). */
  user?: string
}

export interface ActionResult {
  /** Exit code; 128 + signal number when killed. */
  code: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** Parsed from the GITHUB_OUTPUT file. */
  outputs: Record<string, string>
  /** Contents of the GITHUB_STEP_SUMMARY file. */
  summary: string
  durationMs: number
  timedOut: boolean
}

export interface StartedAction {
  child: ChildProcess
  done: Promise<ActionResult>
}

const DEFAULT_TIMEOUT_MS = 10 * 60_000

/** The runner's mapping: `known-hosts` → `INPUT_KNOWN-HOSTS` (spaces become '_', dashes stay). */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`
}

/** Parses both GITHUB_OUTPUT forms: `name=value` and `name<<DELIM` ... `DELIM`. */
export function parseGithubOutput(text: string): Record<string, string> {
  const out: Record<string, string> = {}
  const lines = text.split('\n')
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] ?? ''
    const heredoc = /^([^=]+?)<<(.+)$/.exec(line)
    if (heredoc) {
      const [, name = '', delim = ''] = heredoc
      const value: string[] = []
      for (i++; i < lines.length && lines[i] !== delim; i++) value.push(lines[i] ?? '')
      out[name] = value.join('\n')
      continue
    }
    const eq = line.indexOf('=')
    if (eq > 0) out[line.slice(0, eq)] = line.slice(eq + 1)
  }
  return out
}

function actionEnv(inputs: Record<string, string>, files: Record<string, string>, extra: ActionOptions['env']): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  // Our own INPUT_* (say, from a surrounding workflow) must not leak into the action under test.
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INPUT_')) env[k] = v
  Object.assign(env, files, { GITHUB_ACTIONS: 'true', CI: 'true', GITHUB_WORKSPACE: REPO_ROOT })
  for (const [name, value] of Object.entries(inputs)) env[inputEnvName(name)] = value
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k]
    else env[k] = v
  }
  return env
}

const readOr = (path: string): Promise<string> => readFile(path, 'utf8').catch(() => '')

/** Starts the action; `child` can be killed mid-run, `done` always resolves. */
export function startAction(inputs: Record<string, string>, opts: ActionOptions = {}): StartedAction {
  const entry = opts.entry ?? ACTION_ENTRY
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build`)
  const started = Date.now()
  const setup = prepareFiles()
  const node = opts.node ?? process.execPath
  const as = opts.user ? runAs(opts.user, setup) : undefined
  const child = spawn(as ? 'setpriv' : node, as ? [...as.setpriv, '--', node, entry] : [entry], {
    cwd: REPO_ROOT,
    env: actionEnv(inputs, setup.files, { ...as?.env, ...opts.env }),
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const done = collect(child, setup, started, opts)
  return { child, done }
}

/** Runs the action to completion. */
export function runAction(inputs: Record<string, string>, opts: ActionOptions = {}): Promise<ActionResult> {
  return startAction(inputs, opts).done
}

interface ActionFiles {
  dir: string
  files: Record<string, string>
}

/**
 * How the action runs as `user`: setpriv (util-linux) with the user's groups, the docker group
 * among them (Node's own uid/gid options drop supplementary groups), and the user's HOME and a
 * plain PATH (root's may name folders the user cannot read). The run's files become the user's,
 * as the runner's are on GitHub. Sync, as prepareFiles is.
 */
function runAs(user: string, setup: ActionFiles): { setpriv: string[]; env: Record<string, string> } {
  const [, , uid, gid, , home] = execFileSync('getent', ['passwd', user], { encoding: 'utf8' }).trim().split(':')
  for (const path of [setup.dir, ...Object.values(setup.files)]) chownSync(path, Number(uid), Number(gid))
  return {
    setpriv: [`--reuid=${uid}`, `--regid=${gid}`, '--init-groups'],
    env: { HOME: home ?? `/home/${user}`, USER: user, LOGNAME: user, PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' }
  }
}

/** Fresh files for one run. Sync on purpose: startAction hands back the child at once. */
function prepareFiles(): ActionFiles {
  const dir = mkdtempSync(join(tmpdir(), 'bgs-action-'))
  const files: Record<string, string> = {
    GITHUB_OUTPUT: join(dir, 'output'),
    GITHUB_STEP_SUMMARY: join(dir, 'summary.md'),
    GITHUB_ENV: join(dir, 'env'),
    GITHUB_PATH: join(dir, 'path'),
    GITHUB_STATE: join(dir, 'state'),
    RUNNER_TEMP: join(dir, 'runner-temp')
  }
  for (const [key, path] of Object.entries(files)) {
    if (key === 'RUNNER_TEMP') mkdirSync(path)
    else writeFileSync(path, '')
  }
  return { dir, files }
}

async function collect(child: ChildProcess, setup: ActionFiles, started: number, opts: ActionOptions): Promise<ActionResult> {
  const outcome = await collectChild(child, opts.timeoutMs ?? DEFAULT_TIMEOUT_MS, opts.echo)
  const files = setup.files
  const result: ActionResult = {
    code: outcome.code,
    signal: outcome.signal,
    stdout: outcome.stdout,
    stderr: outcome.stderr + (outcome.spawnError ? `\n[spawn failed: ${outcome.spawnError.message}]` : ''),
    outputs: parseGithubOutput(await readOr(files.GITHUB_OUTPUT ?? '')),
    summary: await readOr(files.GITHUB_STEP_SUMMARY ?? ''),
    durationMs: Date.now() - started,
    timedOut: outcome.timedOut
  }
  await rm(setup.dir, { recursive: true, force: true })
  return result
}

/**
 * Base inputs that reach the sandbox host with the ed25519 key and a pinned fingerprint, as the
 * non-root deploy user the README recommends. (root works too, see the e2e suite, but this
 * machine's root runs pyenv from its ~/.bashrc in every SSH session.)
 */
export function sandboxInputs(info: SandboxInfo, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    host: info.host,
    port: String(info.port),
    username: info.users.deploy,
    key: readFileSync(info.keyPath, 'utf8'),
    fingerprint: info.fingerprint,
    ...overrides
  }
}
