import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { ClientChannel } from 'ssh2'

// Every short remote step runs through one bash that lives for the SSH session, instead of a
// channel (and an sshd session with its login shell) per step: on a real link each channel costs
// round trips, and here about 60-150 ms. The bash exits when the channel closes; nothing stays.

export interface ShellResult {
  code: number
  stdout: string
  stderr: string
}

export class NoBashError extends Error {}

/** Feeds text chunks in, calls `onLine` for each complete line; flush() hands over the rest. */
export function lineSplitter(onLine: (line: string) => void): { push(text: string): void; flush(): void } {
  let partial = ''
  return {
    push(text) {
      const lines = (partial + text).split('\n')
      partial = lines.pop() ?? ''
      lines.forEach((line) => onLine(line))
    },
    flush() {
      if (partial) onLine(partial)
      partial = ''
    }
  }
}

interface Pending {
  id: number
  lines: string[]
  onLine?: (line: string) => void
  resolve: (result: ShellResult) => void
  heldEmpty?: boolean
}

/**
 * Framing: each step runs as `bash -c` with its arguments as positional parameters and its stdin
 * (base64, never on a command line) piped in; a line with a per-session random token, the step's
 * exit code and its stderr (base64) ends its output. A step costs two process starts (base64 and
 * bash; a third only when it wrote to stderr): at 2-3 ms each on a small host, they add up.
 */
export const PRELUDE = readFileSync(new URL('./shell-prelude.sh', import.meta.url), 'utf8')

/** The command for the login shell: any POSIX shell, and it says so when bash is missing. */
export const SHELL_COMMAND = 'command -v bash >/dev/null 2>&1 || { echo __bg_no_bash; exit 0; }; exec bash --noprofile --norc -s'

export class RemoteShell {
  private readonly token = `__bg_${randomBytes(12).toString('hex')}`
  private readonly lines = lineSplitter((line) => this.line(line))
  private pending?: Pending
  private queue: Promise<unknown> = Promise.resolve()
  private nextId = 1
  private closed?: Error
  private ready?: { resolve: () => void; reject: (error: Error) => void }

  private constructor(private readonly channel: ClientChannel) {}

  static async open(channel: ClientChannel): Promise<RemoteShell> {
    const shell = new RemoteShell(channel)
    await shell.start()
    return shell
  }

  /**
   * Runs one step. `words` are the quoted base64 script, the quoted base64 stdin and the quoted
   * arguments (ssh.ts quotes them with its one helper).
   */
  run(words: string, onLine?: (line: string) => void): Promise<ShellResult> {
    const next = this.queue.then(() => this.send(words, onLine))
    this.queue = next.catch(() => undefined)
    return next
  }

  close(): void {
    this.channel.end()
  }

  private start(): Promise<void> {
    const started = new Promise<void>((resolve, reject) => (this.ready = { resolve, reject }))
    this.channel.on('data', (chunk: Buffer) => this.lines.push(chunk.toString('utf8')))
    this.channel.on('close', () => this.fail(new Error('the remote shell ended')))
    this.channel.write(`__bg_token=${this.token}
${PRELUDE}`)
    return started
  }

  private send(words: string, onLine?: (line: string) => void): Promise<ShellResult> {
    if (this.closed) return Promise.reject(this.closed)
    const id = this.nextId++
    return new Promise((resolve) => {
      this.pending = { id, lines: [], onLine, resolve }
      this.channel.write(`__bg_run ${id} ${words}\n`)
    })
  }

  private line(line: string): void {
    if (line === '__bg_no_bash') return this.fail(new NoBashError('no bash'))
    if (line === `${this.token} ready`) return this.ready?.resolve()
    const pending = this.pending
    if (!pending) return
    if (line.startsWith(`${this.token} `)) {
      const [, id, code, stderr = ''] = line.split(' ')
      if (Number(id) !== pending.id) return
      this.pending = undefined
      const stdout = pending.lines.join('\n')
      pending.resolve({ code: Number(code), stdout, stderr: Buffer.from(stderr, 'base64').toString('utf8') })
      return
    }
    // The newline printed before the token ends the step's last line; on output that already
    // ended with one it makes an empty line of its own, which is not the step's. So an empty
    // line is passed on only once another line follows it.
    if (pending.heldEmpty) this.emit(pending, '')
    pending.heldEmpty = line === ''
    if (!pending.heldEmpty) this.emit(pending, line)
  }

  private emit(pending: Pending, line: string): void {
    pending.lines.push(line)
    pending.onLine?.(line)
  }

  private fail(error: Error): void {
    if (this.closed) return
    this.closed = error
    this.ready?.reject(error)
    this.pending?.resolve({ code: 255, stdout: this.pending.lines.join('\n'), stderr: error.message })
    this.pending = undefined
  }
}
