import { spawnSync } from 'node:child_process'
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { STATE_ROOT } from '../../src/host/paths.js'
import { bashCommand, type RunOptions, type RunResult, type Ssh } from '../../src/ssh/connection.js'

/** A temp dir of stub commands (name → sh script) to put first on the PATH. */
export function stubCommands(commands: Record<string, string>): { dir: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'bg-stubs-'))
  for (const [name, script] of Object.entries(commands)) {
    writeFileSync(join(dir, name), script)
    chmodSync(join(dir, name), 0o755)
  }
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) }
}

/**
 * An Ssh whose run() executes each remote script here, under bash with the host's strict mode,
 * with `stubDir` first on the PATH. Output lines reach onLine once the script has ended.
 * `stateRoot` stands in for the host's /var/lib/bluegreen in the scripts' arguments.
 */
export function localSsh(stubDir: string, env: Record<string, string> = {}, stateRoot?: string): Ssh {
  const place = (arg: string): string => (stateRoot && arg.startsWith(STATE_ROOT) ? stateRoot + arg.slice(STATE_ROOT.length) : arg)
  return {
    run: async (script: string, args: string[] = [], options: RunOptions = {}): Promise<RunResult> => {
      const child = spawnSync('sh', ['-c', bashCommand(script, args.map(place))], {
        env: { ...process.env, ...env, PATH: `${stubDir}:${process.env.PATH}` },
        input: options.stdin ?? '',
        encoding: 'utf8',
        maxBuffer: 64 << 20,
        timeout: 60_000
      })
      child.stdout.split('\n').filter(Boolean).forEach((line) => options.onLine?.(line))
      return { code: child.status ?? 1, stdout: child.stdout.trim(), stderr: child.stderr }
    }
  } as unknown as Ssh
}
