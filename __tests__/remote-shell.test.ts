import { spawn } from 'node:child_process'
import { EventEmitter } from 'node:events'
import type { ClientChannel } from 'ssh2'
import { RemoteShell, SHELL_COMMAND } from '../src/ssh/remote-shell.js'
import { shellStep } from '../src/ssh/connection.js'

/** The session's shell, run here by sh as sshd would run it, behind a channel-like object. */
function localChannel(): ClientChannel {
  const child = spawn('sh', ['-c', SHELL_COMMAND], { stdio: ['pipe', 'pipe', 'inherit'] })
  const channel = new EventEmitter() as EventEmitter & { write: (text: string) => boolean; end: () => void }
  child.stdout.on('data', (chunk: Buffer) => channel.emit('data', chunk))
  child.on('close', () => channel.emit('close'))
  channel.write = (text) => child.stdin.write(text)
  channel.end = () => child.stdin.end()
  return channel as unknown as ClientChannel
}

/** What Ssh.run sends. */
const words = shellStep

describe('the remote shell', () => {
  let shell: RemoteShell
  beforeAll(async () => (shell = await RemoteShell.open(localChannel())))
  afterAll(() => shell.close())

  it('runs a step with its arguments as positional parameters and hands back its lines', async () => {
    const lines: string[] = []
    const result = await shell.run(words('printf "%s\\n" "$@"', ['a b', "it's", '$(id)']), (line) => lines.push(line))
    expect(result).toEqual({ code: 0, stdout: "a b\nit's\n$(id)", stderr: '' })
    expect(lines).toEqual(['a b', "it's", '$(id)'])
  })

  it("returns a failing step's exit code and stderr, and the next step starts clean", async () => {
    expect(await shell.run(words('echo out; echo "went wrong" >&2; exit 3'))).toEqual({
      code: 3, stdout: 'out', stderr: 'went wrong\n'
    })
    expect(await shell.run(words('echo fine'))).toEqual({ code: 0, stdout: 'fine', stderr: '' })
  })

  it("keeps a step's own empty lines, inside its output and at its end", async () => {
    const lines: string[] = []
    expect((await shell.run(words('printf "a\\n\\nb\\n\\n"'), (line) => lines.push(line))).stdout).toBe('a\n\nb\n')
    expect(lines).toEqual(['a', '', 'b', ''])
    expect((await shell.run(words('printf "no newline"'))).stdout).toBe('no newline')
  })

  it('feeds a step its stdin', async () => {
    const result = await shell.run(words('tr a-z A-Z', [], 'secret value\nsecond line\n'))
    expect(result).toEqual({ code: 0, stdout: 'SECRET VALUE\nSECOND LINE', stderr: '' })
  })
})
