import type { Runner } from './guard.js'
import { COMMON_CONFIG, probeHostName, type Route } from './nginx-config.js'
import { proxyDir, proxyName, type Slot } from './paths.js'
import { PROBE_SCRIPT, parseProbe } from './probe.js'
import { IN_PROXY, SWARM_SCRIPTS } from './scripts.js'

// The steps a Swarm deploy takes on each node that runs a proxy task (scripts/swarm-node-*.sh):
// the node's copy of the proxy's config, what its proxy sees of the new tasks, the switch (the
// symlink's rename, as on one host) and the drain. The config folder is the node's own
// /var/lib/bluegreen/_proxy/<network>, bind-mounted read-only into its proxy task.

export type ConfWrite = 'unchanged' | 'written' | 'reloaded'

/** Puts the service's config on the node; the node's proxy task, if running, reloads only when it changed. */
export async function writeNodeConf(run: Runner, network: string, service: string, conf: string): Promise<ConfWrite> {
  const result = await run(SWARM_SCRIPTS.nodeRoute, [proxyDir(network), proxyName(network), service, COMMON_CONFIG], { stdin: conf })
  const lines = result.stdout.split('\n')
  if (result.code === 0) return lines.includes('RELOADED') ? 'reloaded' : lines.includes('WRITTEN') ? 'written' : 'unchanged'
  const refused = lines.find((line) => line.startsWith('REFUSED '))
  if (refused) throw new Error(`nginx refused the config of ${service} (nginx -t), the previous one is back: ${refused.slice(8).trim()}`)
  throw new Error(`Could not write the proxy config of ${service}: ${result.stderr.trim() || `exit ${result.code}`}`)
}

/** Takes back a first deploy's config (nothing of the service was live); `unswitch`: its symlink too. */
export async function removeNodeConf(run: Runner, network: string, service: string, unswitch: boolean): Promise<void> {
  const result = await run(SWARM_SCRIPTS.nodeUnroute, [proxyDir(network), proxyName(network), service, unswitch ? 'unswitch' : ''])
  if (result.code !== 0) throw new Error(`Could not remove the proxy config of ${service}: ${result.stderr.trim() || `exit ${result.code}`}`)
}

/** Waits (read-only) for the node's proxy task to run with a config nginx accepts. */
export async function waitNodeProxy(run: Runner, network: string, timeoutSeconds: number): Promise<boolean> {
  const result = await run(SWARM_SCRIPTS.nodeProxy, [proxyName(network), String(timeoutSeconds)])
  return result.code === 0
}

export interface ReadyRequest {
  network: string
  /** The DNS name the config routes to: tasks.<service>-<slot>. */
  name: string
  port: number
  healthPath: string
  /** Every running task's address on the network. */
  addresses: string[]
  timeoutSeconds: number
}

export type Readiness = { ready: true } | { ready: false; sight: string }

/** Waits (read-only) until the node's proxy resolves exactly `addresses` and each answers the health path. */
export async function nodeReady(run: Runner, request: ReadyRequest, onLine: (line: string) => void): Promise<Readiness> {
  const args = [
    proxyName(request.network), request.name, String(request.port), request.healthPath, request.addresses.join('\n'),
    String(request.timeoutSeconds), PROBE_SCRIPT, IN_PROXY.ready
  ]
  let last = ''
  const result = await run(SWARM_SCRIPTS.nodeReady, args, {
    onLine: (line) => {
      last = line
      if (line.startsWith('WAIT ')) onLine(readable(line.slice(5)))
    }
  })
  if (result.code === 0 && last === 'READY') return { ready: true }
  return { ready: false, sight: readable(last.replace(/^NOTREADY /, '')) || result.stderr.trim() || `exit ${result.code}` }
}

/** The probe's `STATUS 404 SLOT none` as people read it. */
function readable(sight: string): string {
  return sight.replace(/STATUS 000 SLOT \S+/g, 'no HTTP answer').replace(/STATUS (\d{3}) SLOT \S+/g, 'HTTP $1')
}

export interface NodeSwitch {
  ok: boolean
  /** The slot the node's symlink pointed at before. */
  before?: Slot
  /** The symlink moved (even when what followed failed). */
  moved: boolean
  message?: string
}

/**
 * Points the node's symlink of `route.service` at `slot` (undefined: at none) and asks the node's
 * proxy until that slot answers on `healthPath`. The caller decides whether every node goes back.
 */
export async function switchNode(run: Runner, network: string, service: string, target: { slot?: Slot; route?: Route; healthPath: string }): Promise<NodeSwitch> {
  const host = probeHostName(target.route ?? { serverNames: [] })
  const args = [
    proxyDir(network), proxyName(network), service, target.slot ?? '', target.route ? JSON.stringify(target.route) : '',
    IN_PROXY.verify, PROBE_SCRIPT, `http://127.0.0.1:80${target.healthPath}`, host, '250'
  ]
  const result = await run(SWARM_SCRIPTS.nodeSwitch, args)
  const lines = result.stdout.split('\n').filter(Boolean)
  const before = lines.find((line) => line.startsWith('BEFORE'))?.slice(7).trim()
  const moved = lines.includes('SWITCHED')
  const previous = before === 'blue' || before === 'green' ? before : undefined
  if (result.code === 0) return { ok: true, before: previous, moved }
  const said = lines.filter((line) => !/^(BEFORE|SWITCHED)( |$)/.test(line))
  const last = parseProbe(said.at(-1) ?? '')
  const seen = last ? `HTTP ${last.status} from slot ${last.slot ?? 'none'}` : said.join(' ') || result.stderr.trim() || `exit ${result.code}`
  return { ok: false, before: previous, moved, message: `its proxy did not serve ${target.slot} after the switch (last answer: ${seen})` }
}

/** Waits (read-only) until the node's proxy holds no connection to `addresses`; returns those still open. */
export async function drainNode(run: Runner, network: string, addresses: string[], timeoutSeconds: number, onWait: (open: number) => void): Promise<number> {
  let open = 0
  await run(SWARM_SCRIPTS.nodeDrain, [proxyName(network), String(timeoutSeconds), ...addresses], {
    onLine: (line) => {
      const [kind, count] = line.split(' ')
      if (kind === 'WAIT') onWait(Number(count))
      if (kind === 'DRAINED') open = Number(count)
    }
  })
  return open
}
