import '../cjs-globals.js'
import * as core from '@actions/core'
import net from 'node:net'
import { NodeSSH } from 'node-ssh'
import ssh2 from 'ssh2'
import type { ClientChannel } from 'ssh2'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fingerprintOf } from './hostkey.js'
import { verifyHostKey, type HostKeyCheck } from './verify.js'
import { RemoteShell, SHELL_COMMAND, lineSplitter } from './remote-shell.js'
import { KEEPALIVE_SECONDS, lossReason } from './lost.js'

const KEEPALIVE_INTERVAL_MS = 10_000

export interface SshOptions {
  host: string
  port: number
  username: string
  key: string
  passphrase: string
  /** Seconds until the TCP connect, handshake and authentication must be done. */
  timeout: number
  hostKey: HostKeyCheck
}

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Text for the step's stdin (kept off every command line). */
  stdin?: string
  /** Called with each complete stdout line as it arrives. */
  onLine?: (line: string) => void
}

export interface ExecOptions {
  /** Text or a stream for the command's stdin. */
  stdin?: string | Readable
  onLine?: (line: string) => void
}

/** The one quoting helper: a single-quoted word for any POSIX shell. */
export function quote(value: string): string {
  if (value.includes('\0')) throw new Error('cannot pass a NUL byte to the remote shell')
  return `'${value.replace(/'/g, `'\\''`)}'`
}

/** Every remote script stops at its first failing command. */
function strict(script: string): string {
  return `set -euo pipefail\n${script}`
}

/** One step for the remote shell: the script (strict) and its stdin in base64, then its arguments, each quoted. */
export function shellStep(script: string, args: string[] = [], stdin = ''): string {
  const base64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')
  return [base64(strict(script)), base64(stdin), ...args].map(quote).join(' ')
}

/** Runs `script` with bash on the host; `args` arrive as $1, $2... and are never parsed as code. */
export function bashCommand(script: string, args: string[] = []): string {
  return ['bash', '-c', quote(strict(script)), 'bluegreen', ...args.map(quote)].join(' ')
}

/** Throws a message naming `key` or `passphrase` when the key cannot be used. */
export function checkPrivateKey(key: string, passphrase: string): void {
  const parsed = ssh2.utils.parseKey(key, passphrase || undefined)
  if (!(parsed instanceof Error)) return
  const message = parsed.message
  if (/no passphrase given/i.test(message)) {
    throw new Error('passphrase: the key is encrypted; set the passphrase input')
  }
  if (/passphrase/i.test(message)) throw new Error('passphrase: wrong passphrase for the key')
  throw new Error(`key: cannot read the private key (${message})`)
}

/** One SSH connection, kept for the whole run; short steps share one remote shell on it. */
export class Ssh {
  private shell?: Promise<RemoteShell>
  private closing = false
  private lostReason?: string

  private constructor(
    private readonly client: NodeSSH,
    readonly target: string,
    private readonly socket: net.Socket,
    /** The fingerprint of the host key this connection accepted. */
    readonly hostKeyFingerprint: string
  ) {
    this.watch()
  }

  /** Why the connection ended before close() was called, if it did. */
  lost(): string | undefined {
    return this.lostReason
  }

  /**
   * ssh2 emits 'error' whenever the connection fails: a keepalive timeout after a minute without
   * an answer, a reset socket. node-ssh listens only while it connects, and an 'error' nobody
   * listens to ends the process; this listener lasts the whole run.
   */
  private watch(): void {
    const connection = this.client.connection
    connection?.on('error', (error: Error) => this.lose(lossReason(error)))
    connection?.on('close', () => this.lose('the host closed the connection'))
  }

  private lose(reason: string): void {
    if (this.closing || this.lostReason) return
    this.lostReason = reason
    core.debug(`The SSH connection to ${this.target} was lost: ${reason}`)
    // After some errors ssh2 only ends the socket, and on a dead link that close waits for TCP to
    // give up (many minutes). Destroyed, it closes now, with every channel: each step fails at once.
    this.socket.destroy()
  }

  static async connect(options: SshOptions): Promise<Ssh> {
    checkPrivateKey(options.key, options.passphrase)
    let socket!: net.Socket
    let accepted = ''
    const client = await verifyHostKey(options.hostKey, async (check, algorithms) => {
      // ssh2 waits for `verify` when the verifier returns nothing: a same-key check may wait for
      // the first connection to log in.
      const verifier = (key: Buffer, verify: (ok: boolean) => void): void => {
        void Promise.resolve()
          .then(() => check(key))
          .catch(() => false)
          .then((ok) => {
            if (ok) accepted = fingerprintOf(key)
            verify(ok)
          })
      }
      const ssh = new NodeSSH()
      socket = net.connect({ host: options.host, port: options.port, noDelay: true })
      await ssh.connect({
        host: options.host,
        port: options.port,
        // With Nagle's algorithm on (ssh2's default) every small packet that follows an unacked
        // one waits for the server's delayed ACK, ~40 ms: measured here, 170 ms of the handshake
        // and 40 ms of every remote step.
        sock: socket,
        username: options.username,
        privateKey: options.key,
        passphrase: options.passphrase || undefined,
        // The key is the one way in: ssh2 would first ask with method "none" (to learn the
        // server's methods), a round trip of every login that the key's own attempt makes anyway.
        authHandler: ['publickey'],
        readyTimeout: options.timeout * 1000,
        // A link silent for KEEPALIVE_SECONDS is taken for lost (lost.ts says so in its message).
        keepaliveInterval: KEEPALIVE_INTERVAL_MS,
        keepaliveCountMax: (KEEPALIVE_SECONDS * 1000) / KEEPALIVE_INTERVAL_MS,
        hostVerifier: verifier,
        algorithms: algorithms ? { serverHostKey: algorithms as never } : undefined
      })
      return ssh
    }).catch((error: unknown) => {
      throw connectError(error, options)
    })
    return new Ssh(client, `${options.username}@${options.host}:${options.port}`, socket, accepted)
  }

  /**
   * Runs a bash script in the session's shell; `args` arrive as $1, $2... and are never parsed
   * as code. Throws NoBashError when the host has no bash.
   */
  async run(script: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> {
    this.shell ??= this.openChannel(SHELL_COMMAND).then((channel) => RemoteShell.open(channel))
    const shell = await this.shell
    const started = performance.now()
    const result = await shell.run(shellStep(script, args, options.stdin), options.onLine)
    core.debug(`remote step (${clock(started)}, exit ${result.code}): ${script.trim().split('\n')[0]}`)
    return result
  }

  /** Runs a command line on its own channel, through the login shell of the remote user. */
  async exec(command: string, options: ExecOptions = {}): Promise<RunResult> {
    const lines = options.onLine ? lineSplitter(options.onLine) : undefined
    const started = performance.now()
    const result = await this.client.execCommand(command, {
      stdin: options.stdin,
      noTrim: true,
      onStdout: lines ? (chunk) => lines.push(chunk.toString('utf8')) : undefined
    })
    lines?.flush()
    core.debug(`remote command (${clock(started)}, exit ${result.code}): ${command.slice(0, 80)}`)
    return { code: result.code ?? 255, stdout: result.stdout, stderr: result.stderr }
  }

  /**
   * Streams `source` into a remote command's stdin with backpressure end to end: a slow host
   * slows the reader instead of filling the runner's memory.
   */
  async stream(command: string, source: Readable): Promise<RunResult> {
    const started = performance.now()
    const channel = await this.openChannel(command)
    const stdout: Buffer[] = []
    const stderr: Buffer[] = []
    channel.on('data', (chunk: Buffer) => stdout.push(chunk))
    channel.stderr.on('data', (chunk: Buffer) => stderr.push(chunk))
    const exited = new Promise<number>((resolve) => {
      let code = 255
      channel.on('exit', (exitCode: number | null) => (code = exitCode ?? 255))
      channel.on('close', () => resolve(code))
    })
    sendChunksWhole(channel, this.socket)
    // A host that gives up early closes the channel; stop reading the source then.
    const piped = pipeline(source, channel).catch((error: unknown) => error)
    const code = await exited
    source.destroy()
    const pipeError = await piped
    const text = (parts: Buffer[]): string => Buffer.concat(parts).toString('utf8')
    core.debug(`remote stream (${clock(started)}, exit ${code}): ${command.slice(0, 80)}`)
    if (pipeError instanceof Error && code === 0) throw pipeError
    return { code, stdout: text(stdout), stderr: text(stderr) }
  }

  close(): void {
    this.closing = true
    void this.shell?.then((shell) => shell.close(), () => undefined)
    this.client.dispose()
  }

  private openChannel(command: string): Promise<ClientChannel> {
    const connection = this.client.connection
    if (!connection) return Promise.reject(new Error('the SSH connection is closed'))
    return new Promise((resolve, reject) => {
      connection.exec(command, (error, channel) => (error ? reject(error) : resolve(channel)))
    })
  }
}

/**
 * ssh2 hands every SSH packet (32 KiB at most) to the socket on its own, one system call each.
 * Corked while a chunk is written to the channel, the socket sends that chunk's packets in one
 * writev. Measured here: the runner's socket writes for an 82 MiB image, 293 -> 79 ms of CPU.
 */
function sendChunksWhole(channel: ClientChannel, socket: net.Socket): void {
  const write = channel.write.bind(channel) as (...args: unknown[]) => boolean
  channel.write = ((...args: unknown[]) => {
    socket.cork()
    try {
      return write(...args)
    } finally {
      process.nextTick(() => socket.uncork())
    }
  }) as ClientChannel['write']
}

function connectError(error: unknown, options: SshOptions): Error {
  const where = `${options.host}:${options.port}`
  const err = error as NodeJS.ErrnoException & { level?: string }
  if (!(error instanceof Error)) return new Error(`Could not connect to ${where}: ${String(error)}`)
  if (error.name === 'HostKeyError') return error
  if (err.code === 'ECONNREFUSED') {
    return new Error(`Could not connect to ${where}: connection refused (check host and port)`)
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new Error(`host: cannot resolve "${options.host}"`)
  }
  if (/timed out/i.test(error.message) || err.code === 'ETIMEDOUT') {
    return new Error(
      `Timed out after ${options.timeout} s connecting to ${where} (raise the timeout input if the host is slow)`
    )
  }
  if (err.level === 'client-authentication') {
    return new Error(
      `SSH authentication failed for ${options.username}@${where}: the server did not accept the key (check key and username)`
    )
  }
  return new Error(`Could not connect to ${where}: ${error.message}`)
}

/** "at 1234 ms, 56 ms": when a remote call began (since the process started) and how long it took, for debug logs. */
function clock(started: number): string {
  return `at ${Math.round(started)} ms, ${Math.round(performance.now() - started)} ms`
}
