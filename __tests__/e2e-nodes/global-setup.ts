// jest globalSetup of the nodes project: the sandbox (whose keys, users and proxy image the nodes
// reuse), then three nodes in a Swarm. It throws when either cannot start, so the run fails
// loudly instead of skipping.
import { tsImport } from 'tsx/esm/api'
import type * as Nodes from '../../sandbox/nodes.js'
import type * as Sandbox from '../../sandbox/sandbox.js'

export const NODE_COUNT = 3

export default async function globalSetup(): Promise<void> {
  // As in the e2e project's global-setup: Node's own ESM loader runs this file, so the TypeScript
  // sandbox modules come in through tsx.
  const { ensureSandbox } = (await tsImport('../../sandbox/sandbox.js', import.meta.url)) as typeof Sandbox
  const { ensureNodes } = (await tsImport('../../sandbox/nodes.js', import.meta.url)) as typeof Nodes
  await ensureSandbox()
  const info = await ensureNodes({ count: NODE_COUNT, swarm: true })
  const nodes = info.nodes.map((n) => `${n.name} ${n.address}`).join(', ')
  process.stderr.write(`nodes: ${nodes} (ssh as ${info.user}); swarm manager ${info.swarm?.managerAddress ?? 'none'}\n`)
}
