// Runs shellcheck on every remote script exactly as the action sends it (libraries in front),
// and on the sandbox's own scripts. CI runs this (npm run lint:sh).
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { IN_PROXY, SCRIPTS, SWARM_SCRIPTS } from '../src/host/scripts.js'
import { PRELUDE } from '../src/ssh/remote-shell.js'

// SC2317 (unreachable command) is left out for the composed scripts: a library defines more
// functions than each script that includes it calls.
function check(name: string, shell: 'bash' | 'sh', text: string): boolean {
  const result = spawnSync('shellcheck', ['--shell', shell, '--exclude=SC2317', '-'], { input: text, encoding: 'utf8' })
  if (result.error) throw new Error(`shellcheck could not run (apt-get install shellcheck): ${result.error.message}`)
  if (result.status === 0) return true
  process.stdout.write(`--- ${name}\n${result.stdout}${result.stderr}`)
  return false
}

const results = [
  ...Object.entries(SCRIPTS).map(([name, text]) => check(`host script ${name}`, 'bash', text)),
  ...Object.entries(SWARM_SCRIPTS).map(([name, text]) => check(`swarm script ${name}`, 'bash', text)),
  ...Object.entries(IN_PROXY).map(([name, text]) => check(`in-proxy script ${name}`, 'sh', text)),
  check('remote shell prelude', 'bash', `__bg_token=t\n${PRELUDE}`)
]
const sandbox = join(import.meta.dirname ?? new URL('.', import.meta.url).pathname, '..', 'sandbox')
for (const file of readdirSync(sandbox).filter((name) => name.endsWith('.sh'))) {
  const result = spawnSync('shellcheck', ['--external-sources', file], { cwd: sandbox, encoding: 'utf8' })
  if (result.status !== 0) process.stdout.write(`--- sandbox/${file}\n${result.stdout}${result.stderr}`)
  results.push(result.status === 0)
}
const failed = results.filter((ok) => !ok).length
console.log(failed ? `shellcheck: ${failed} script(s) with findings` : `shellcheck: ${results.length} scripts clean`)
process.exit(failed ? 1 : 0)
