// jest globalSetup of the e2e project: bring the sandbox up. It throws when the sandbox cannot
// start, so the e2e run fails loudly instead of skipping.
import { tsImport } from 'tsx/esm/api'
import type * as Sandbox from '../../sandbox/sandbox.js'
import type * as Pebble from '../../sandbox/pebble.js'

export default async function globalSetup(): Promise<void> {
  // jest hands this file to Node's own ESM loader, which neither maps `.js` to `.ts` nor compiles
  // what it imports, so the TypeScript sandbox module comes in through tsx.
  const { ensureSandbox } = (await tsImport('../../sandbox/sandbox.js', import.meta.url)) as typeof Sandbox
  const info = await ensureSandbox()
  process.stderr.write(`sandbox: ssh ${info.users.deploy}@${info.host}:${info.port} (and root), host engine ${info.hostDockerHost}\n`)
  // The ACME CA of the TLS tests (Debian's pebble, installed with apt-get on a fresh machine);
  // each TLS test file sets the port it validates on.
  const { ensurePebble, PEBBLE_INFO_PATH } = (await tsImport('../../sandbox/pebble.js', import.meta.url)) as typeof Pebble
  const pebble = await ensurePebble(18480)
  process.stderr.write(`pebble: ACME ${pebble.directoryUrl} (${PEBBLE_INFO_PATH})\n`)
}
