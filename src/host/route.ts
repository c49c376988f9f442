import type { Runner } from './guard.js'
import { confDigest, isPinned, renderServiceConf, type Route, type ServiceTls, type SlotUpstream } from './nginx-config.js'
import { otherSlot, proxyDir, proxyName, type Slot } from './paths.js'
import { SCRIPTS } from './scripts.js'
import type { ServiceSnapshot } from './state.js'

// Before the candidate starts, the service's proxy config must hold a route to the candidate's
// slot. It names both slots: the live one as recorded at its switch (so the live route never
// changes during a deploy), the idle one at its pinned addresses (or by container name on a
// network the action did not create). A routine redeploy renders the very config on the host
// and needs no reload; a first deploy, a new port or new server names write it and reload.

export interface RouteRequest {
  service: string
  network: string
  serverNames: string[]
  websocketTimeout: number
  accessLog: boolean
  /** Containers in the slot. */
  replicas: number
  /** The slot the candidate starts in, its container name and the app's port. */
  slot: Slot
  container: string
  appPort: number
  /** HTTPS on the same server block (listen 443 ssl), when the service uses TLS. */
  tls?: ServiceTls
}

export interface RoutePlan {
  /** How the proxy reaches the candidate: its pinned ip:port, or name:port. */
  targets: string[]
  /** The candidate's pinned addresses (one per replica), to start them at; empty when reached by name. */
  addresses: string[]
  conf: string
  /** The host's config differs and must be written (nginx reloads). */
  write: boolean
}

/** Decides the config, given the service's pinned addresses by slot (none: reached by name). */
export function planRoute(request: RouteRequest, snapshot: ServiceSnapshot, addresses: Partial<Record<Slot, string[]>>): RoutePlan {
  const targetsOf = (slot: Slot): string[] => {
    const pinned = addresses[slot]?.slice(0, request.replicas)
    if (pinned?.length === request.replicas) return pinned.map((ip) => `${ip}:${request.appPort}`)
    return [`${request.service}-${slot}:${request.appPort}`]
  }
  const live = snapshot.route
  const slots: SlotUpstream[] = [{ slot: request.slot, targets: targetsOf(request.slot) }]
  const other = otherSlot(request.slot)
  // The live slot keeps what it was switched to; with nothing live, the other slot is readied
  // like this one, so that the next deploy (same port) finds the config as it needs it.
  slots.push({ slot: other, targets: live?.slot === other ? liveTargets(live) : targetsOf(other) })
  const conf = renderServiceConf({
    service: request.service, serverNames: request.serverNames, websocketTimeout: request.websocketTimeout, accessLog: request.accessLog, slots,
    ...(request.tls ? { tls: request.tls } : {})
  })
  const pinned = slots[0].targets.every(isPinned)
  return {
    targets: slots[0].targets,
    addresses: pinned ? slots[0].targets.map((target) => target.slice(0, target.lastIndexOf(':'))) : [],
    conf,
    write: confDigest(conf) !== snapshot.confDigest
  }
}

/** A live route recorded before targets were: reached by its container name. */
export function liveTargets(route: Route): string[] {
  return route.targets?.length ? route.targets : [`${route.container}:${route.appPort}`]
}

/** Pinned addresses for both slots; empty when the network has none to give (reached by name). */
export async function allocateAddresses(run: Runner, network: string, service: string, count: number): Promise<Partial<Record<Slot, string[]>>> {
  const result = await run(SCRIPTS.allocate, [proxyDir(network), network, service, `blue:${count}`, `green:${count}`])
  if (result.code !== 0) throw new Error(`Could not pin addresses for ${service} on network ${network}: ${result.stderr.trim() || `exit ${result.code}`}`)
  const addresses: Partial<Record<Slot, string[]>> = {}
  for (const line of result.stdout.split('\n')) {
    const [kind, slot, index, ip] = line.split(' ')
    if (kind === 'ADDR' && (slot === 'blue' || slot === 'green')) (addresses[slot] ??= [])[Number(index) - 1] = ip
  }
  return addresses
}

/**
 * Writes the config and reloads nginx. `legacy`: a live route recorded only in an old config's
 * first line, which gets its symlink and record before the new config replaces that one.
 */
export async function writeRoute(run: Runner, network: string, service: string, conf: string, legacy?: Route): Promise<void> {
  const legacyRoute = legacy ? JSON.stringify({ ...legacy, targets: liveTargets(legacy) }) : ''
  const result = await run(SCRIPTS.writeRoute, [proxyDir(network), proxyName(network), service, legacy?.slot ?? '', legacyRoute], { stdin: conf })
  if (result.code === 0) return
  const refused = result.stdout.split('\n').find((line) => line.startsWith('REFUSED '))
  if (refused) throw new Error(`nginx refused the config of ${service} (nginx -t), the previous one is back: ${refused.slice(8).trim()}`)
  throw new Error(`Could not write the proxy config of ${service}: ${result.stderr.trim() || `exit ${result.code}`}`)
}

/** Takes back the config a failed first deploy added; a service with a live slot keeps its own (unless `unswitch`). */
export async function removeRoute(run: Runner, network: string, service: string, unswitch = false): Promise<void> {
  const result = await run(SCRIPTS.removeRoute, [proxyDir(network), proxyName(network), service, unswitch ? 'unswitch' : ''])
  if (result.code !== 0) throw new Error(`Could not remove the proxy config of ${service}: ${result.stderr.trim() || `exit ${result.code}`}`)
}
