// The local sandbox (sandbox.sh) seen from TypeScript: start it, read its info, and talk to its two
// Docker engines and its sshd. Only node built-ins, so jest tests and `tsx` scripts share it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const SANDBOX_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'sandbox.sh')
export const SANDBOX_INFO_PATH = '/var/lib/bluegreen-sandbox/info.json'
/** Same values as sandbox.sh, so the engines are reachable before info.json exists. */
export const HOST_DOCKER_HOST = 'unix:///run/bluegreen-sandbox/docker.sock'
export const RUNNER_DOCKER_HOST = `unix://${process.env.BLUEGREEN_SANDBOX_RUNNER_SOCK ?? '/var/run/docker.sock'}`
/** The third engine, on Docker's containerd image store (sandbox/containerd-engine.sh). */
export const CONTAINERD_DOCKER_HOST = 'unix:///run/bluegreen-sandbox/containerd/docker.sock'
/** The fourth, the same Docker 26 on the classic store: its save is the OCI layout of Docker 25-28, and as a host it loads as they do. */
export const CLASSIC_DOCKER_HOST = 'unix:///run/bluegreen-sandbox/containerd/classic/docker.sock'

export interface SandboxInfo {
  host: string
  port: number
  username: string
  keyPath: string
  passKeyPath: string
  passphrase: string
  rsaKeyPath: string
  /** SHA256:... of the ed25519 host key, as `ssh-keygen -lf` prints it. */
  fingerprint: string
  fingerprints: { ed25519: string; rsa: string }
  /** known_hosts lines for [127.0.0.1]:port, both host keys, newline-terminated. */
  knownHosts: string
  knownHostsPath: string
  hostDockerHost: string
  hostDataRoot: string
  runnerDockerHost: string
  /** The containerd-store engine: a runner's engine, or the host's for the ssh user users.containerd. */
  containerdDockerHost: string
  /** The classic-store Docker 26 engine: a runner's engine, or the host's for the ssh user users.classic. */
  classicDockerHost: string
  /**
   * deploy: a plain user in the docker group that owns /var/lib/bluegreen (the README's set-up);
   * containerd: a user whose ssh sessions reach the containerd-store engine; classic: the
   * classic-store Docker 26 engine.
   */
  users: {
    nodocker: string; nodockercli: string; nobash: string; deploy: string; containerd: string; classic: string
    /** Runner users (they run the action, not log in): in the docker group, with and without passwordless sudo. */
    runner: string; runnerNoSudo: string
  }
  proxyImage: string
  busyboxRootfs: string
  /** The action's own state dir on the host; `sandbox.sh down` deletes it. */
  actionStateDir: string
}

export interface ExecResult {
  /** Exit code; 128 + signal number when killed (as a shell reports it). */
  code: number
  stdout: string
  stderr: string
  timedOut: boolean
}

export interface ExecOptions {
  input?: string | Buffer
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 }
const DEFAULT_TIMEOUT_MS = 120_000
/** Cold `up` may install packages with apt-get. */
const UP_TIMEOUT_MS = 15 * 60_000
/** Set once `up` succeeded, so jest workers forked after globalSetup only read info.json. */
const READY_ENV = 'BLUEGREEN_SANDBOX_READY'

export interface ChildOutcome {
  /** Exit code; 128 + signal number when killed (as a shell reports it). */
  code: number
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  timedOut: boolean
  /** Set when the process could not be started at all. */
  spawnError?: Error
}

/**
 * Collects a child's output until it ends, killing it (SIGKILL) after `timeoutMs`. `echo` copies
 * its output to our stderr as it comes. Never rejects.
 */
export function collectChild(child: ChildProcess, timeoutMs: number, echo = false): Promise<ChildOutcome> {
  return new Promise((resolve) => {
    const out: Buffer[] = []
    const err: Buffer[] = []
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      child.kill('SIGKILL')
    }, timeoutMs)
    const keep = (into: Buffer[]) => (b: Buffer) => {
      into.push(b)
      if (echo) process.stderr.write(b)
    }
    child.stdout?.on('data', keep(out))
    child.stderr?.on('data', keep(err))
    let finished = false
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: Error): void => {
      if (finished) return // 'error' and 'close' can both fire
      finished = true
      clearTimeout(timer)
      resolve({
        code: code ?? 128 + (SIGNALS[signal ?? 'SIGKILL'] ?? 0),
        signal,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
        timedOut,
        spawnError
      })
    }
    child.on('error', (e) => finish(1, null, e))
    child.on('close', (code, signal) => finish(code, signal))
  })
}

/** Runs a command to completion; never throws for a non-zero exit (only if it cannot spawn). */
export async function runCommand(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const child = spawn(cmd, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
  // A command that exits without reading its input must not crash us with EPIPE.
  child.stdin.on('error', () => undefined)
  child.stdin.end(opts.input ?? '')
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const outcome = await collectChild(child, timeoutMs)
  if (outcome.spawnError) throw outcome.spawnError
  const killed = outcome.timedOut ? `\n[${cmd} killed after ${timeoutMs} ms]` : ''
  return { code: outcome.code, stdout: outcome.stdout, stderr: outcome.stderr + killed, timedOut: outcome.timedOut }
}

function failure(cmd: string, args: string[], r: ExecResult): string {
  return `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`
}

let upPromise: Promise<SandboxInfo> | undefined

/**
 * Starts the sandbox (`sandbox.sh up`, streaming its output to stderr) once per process and
 * returns its info. Throws with the output tail when it cannot start: e2e suites must fail, not skip.
 */
export function ensureSandbox(): Promise<SandboxInfo> {
  if (process.env[READY_ENV] === '1' && existsSync(SANDBOX_INFO_PATH)) return Promise.resolve(readSandboxInfo())
  upPromise ??= runUp().catch((e: unknown) => {
    upPromise = undefined
    throw e
  })
  return upPromise
}

function runUp(): Promise<SandboxInfo> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SANDBOX_SCRIPT, 'up'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const keep = (b: Buffer): void => {
      process.stderr.write(b)
      tail = (tail + b.toString()).slice(-6000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), UP_TIMEOUT_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`cannot run ${SANDBOX_SCRIPT}: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`sandbox.sh up failed (${signal ?? `exit ${code}`}):\n${tail}`))
        return
      }
      try {
        const info = readSandboxInfo()
        process.env[READY_ENV] = '1'
        resolve(info)
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** Reads info.json written by `sandbox.sh up`; throws if the sandbox was never started. */
export function readSandboxInfo(): SandboxInfo {
  if (!existsSync(SANDBOX_INFO_PATH)) throw new Error(`${SANDBOX_INFO_PATH} is missing: run sandbox/sandbox.sh up`)
  return JSON.parse(readFileSync(SANDBOX_INFO_PATH, 'utf8')) as SandboxInfo
}

function dockerEnv(dockerHost: string, extra?: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  // A DOCKER_CONTEXT from the caller's shell must not redirect us to some other engine.
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra, DOCKER_HOST: dockerHost }
  delete env.DOCKER_CONTEXT
  return env
}

/** `docker ARGS` against the host engine (the one behind sshd). Never throws on non-zero. */
export function hostDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runCommand('docker', args, { ...opts, env: dockerEnv(HOST_DOCKER_HOST, opts.env) })
}

/** `docker ARGS` against the runner engine (where the action builds and saves images). */
export function runnerDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runCommand('docker', args, { ...opts, env: dockerEnv(RUNNER_DOCKER_HOST, opts.env) })
}

/** `docker ARGS` against the containerd-store engine. Never throws on non-zero. */
export function containerdDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runCommand('docker', args, { ...opts, env: dockerEnv(CONTAINERD_DOCKER_HOST, opts.env) })
}

/** `docker ARGS` against the classic-store Docker 26 engine. Never throws on non-zero. */
export function classicDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runCommand('docker', args, { ...opts, env: dockerEnv(CLASSIC_DOCKER_HOST, opts.env) })
}

/** hostDocker that throws with stderr on a non-zero exit. */
export async function mustHostDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await hostDocker(args, opts)
  if (r.code !== 0) throw new Error(`host engine: ${failure('docker', args, r)}`)
  return r
}

/** runnerDocker that throws with stderr on a non-zero exit. */
export async function mustRunnerDocker(args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await runnerDocker(args, opts)
  if (r.code !== 0) throw new Error(`runner engine: ${failure('docker', args, r)}`)
  return r
}

export interface SshOptions extends ExecOptions {
  /** Login user; default root. The special users are in info.users. */
  user?: string
  /** Private key; default info.keyPath (authorized for root and every test user). */
  keyPath?: string
}

/** The system `ssh` arguments that reach the sandbox sshd with host key checking on. */
export function sshArgs(info: SandboxInfo, opts: { user?: string; keyPath?: string } = {}): string[] {
  return [
    '-F', '/dev/null',
    '-i', opts.keyPath ?? info.keyPath,
    '-p', String(info.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${info.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
    `${opts.user ?? info.username}@${info.host}`
  ]
}

/** Runs a shell command on the sandbox host through its sshd, as a user of it would. */
export function hostSsh(command: string, opts: SshOptions = {}): Promise<ExecResult> {
  const info = readSandboxInfo()
  return runCommand('ssh', [...sshArgs(info, opts), '--', command], opts)
}
