import { renderServiceConf, type Route, type SlotUpstream } from '../host/nginx-config.js'
import { otherSlot, proxyName, type Slot } from '../host/paths.js'
import { resolveSituation, type ServiceState, type Situation } from '../host/state.js'
import type { SwarmNode } from '../host/swarm.js'
import type { Inputs } from '../inputs.js'
import type { HostTarget } from './targets.js'

// Decisions of a Swarm deploy, pure: which nodes to reach and how, what is live when the nodes'
// proxies disagree, the proxy's config, and the one image ID every node must hold.

/** A node the run reaches over SSH. */
export interface NodePlan {
  node: SwarmNode
  /** Where its sshd listens, and its own pins (empty: the step's fingerprint and known-hosts). */
  target: HostTarget
  /** The manager the step connected to (`host`). */
  self: boolean
  /** Swarm may place tasks on it (not drained): it needs the image and runs a proxy task. */
  runsTasks: boolean
}

export interface NodesPlan {
  reach: NodePlan[]
  /** Drained nodes: no task runs there, so neither image nor proxy config goes there. */
  skipped: SwarmNode[]
}

export function nodeName(node: SwarmNode): string {
  return `${node.hostname} (${node.addr})`
}

/**
 * Every node that may run a task is reached: at its line of `hosts` (matched by address or host
 * name), else at its own Swarm address on `port`. A node that is down, or that `hosts` does not
 * list, is refused: Swarm could place a task there that the image never reached.
 */
export function planNodes(nodes: SwarmNode[], selfId: string, inputs: Pick<Inputs, 'host' | 'port' | 'hosts' | 'fingerprints'>): NodesPlan {
  const reach: NodePlan[] = []
  const skipped: SwarmNode[] = []
  const problems: string[] = []
  const used = new Set<HostTarget>()
  const lineOf = (node: SwarmNode): HostTarget | undefined => inputs.hosts.find((line) => line.host === node.addr || line.host === node.hostname)
  for (const node of nodes) {
    const line = lineOf(node)
    if (line) used.add(line)
    const runsTasks = node.availability !== 'drain'
    if (node.id === selfId) {
      reach.push({ node, target: { host: inputs.host, port: inputs.port, fingerprints: inputs.fingerprints }, self: true, runsTasks })
    } else if (!runsTasks) {
      skipped.push(node)
    } else if (node.state !== 'ready') {
      problems.push(`node ${nodeName(node)} is ${node.state} in the Swarm: when it comes back, Swarm may place tasks there without the image; ` +
        `drain it (docker node update --availability drain ${node.hostname}) or remove it`)
    } else if (inputs.hosts.length > 0 && !line) {
      problems.push(`hosts: no line for node ${nodeName(node)}; list every node's SSH address, or drain the node`)
    } else {
      reach.push({ node, target: line ?? { host: node.addr, port: inputs.port, fingerprints: [] }, self: false, runsTasks })
    }
  }
  for (const line of inputs.hosts.filter((line) => !used.has(line))) {
    problems.push(`hosts: ${line.host}:${line.port} is no node of the Swarm (its nodes: ${nodes.map(nodeName).join(', ')})`)
  }
  if (problems.length) throw new Error(`Refused before anything in the Swarm changed:\n${problems.join('\n')}`)
  return { reach, skipped }
}

/** What is live, from the manager's record and each proxy node's symlink. */
export interface SwarmSituation {
  situation: Situation
  /** The live slot's route, as the nodes record it. */
  route?: Route
  /** Some proxy node points elsewhere (a run died mid-switch, or the node is new): it is pointed at the live slot first. */
  repair: boolean
}

/**
 * Each proxy node's symlink says which slot it serves (`marks`, undefined: none). Nodes that all
 * agree are right, as on one host (the proxy wins over state.json). Nodes that disagree are what a
 * run killed mid-switch leaves: the slot the manager recorded as live wins (its service still
 * runs: the old slot is scaled down only after the record), else the slot most nodes serve.
 */
export function swarmSituation(state: ServiceState, marks: (Route | undefined)[]): SwarmSituation {
  const routes = marks.filter((route): route is Route => route !== undefined)
  const slots = [...new Set(routes.map((route) => route.slot))]
  let route: Route | undefined = routes[0]
  if (slots.length > 1) {
    const count = (slot: Slot): number => routes.filter((candidate) => candidate.slot === slot).length
    const recorded = routes.find((candidate) => candidate.slot === state.live?.slot)
    route = recorded ?? (count('green') > count('blue') ? routes.find((r) => r.slot === 'green') : routes.find((r) => r.slot === 'blue'))
  }
  const repair = route !== undefined && marks.some((mark) => mark?.slot !== route.slot)
  return { situation: resolveSituation({ state, route, containers: [] }), route, repair }
}

/** The DNS name of a slot's tasks on the overlay network: every task's address, no virtual IP. */
export function tasksName(service: string, slot: Slot): string {
  return `tasks.${slotService(service, slot)}`
}

export function slotService(service: string, slot: Slot): string {
  return `${service}-${slot}`
}

/** The services a deploy reads: the slots' and the proxy's, or the user's own. */
export function serviceNames(inputs: Pick<Inputs, 'swarmUpdate' | 'service' | 'network'>): string[] {
  if (inputs.swarmUpdate === 'rolling') return [inputs.service]
  return [slotService(inputs.service, 'blue'), slotService(inputs.service, 'green'), proxyName(inputs.network)]
}

export interface SwarmConfRequest {
  service: string
  serverNames: string[]
  websocketTimeout: number
  accessLog: boolean
  /** The candidate's slot and the app's port. */
  slot: Slot
  appPort: number
}

/**
 * The service's proxy config, as on one host but reaching each slot through Docker's DNS
 * (tasks.<service>-<slot>, resolved per request, cached 1 s): the live slot as it was switched
 * to, the candidate's at its port. The same slots give the same text, so a routine deploy
 * reloads nothing.
 */
export function swarmConf(request: SwarmConfRequest, live?: Route): string {
  const targetsOf = (slot: Slot, port: number): string[] => [`${tasksName(request.service, slot)}:${port}`]
  const other = otherSlot(request.slot)
  const slots: SlotUpstream[] = [
    { slot: request.slot, targets: targetsOf(request.slot, request.appPort) },
    { slot: other, targets: live?.slot === other ? (live.targets?.length ? live.targets : targetsOf(other, live.appPort)) : targetsOf(other, request.appPort) }
  ]
  const { service, serverNames, websocketTimeout, accessLog } = request
  return renderServiceConf({ service, serverNames, websocketTimeout, accessLog, slots })
}

/**
 * The one image ID the service's spec names: every node must report the same. On Docker's
 * containerd image store a loaded image's ID is its manifest's digest, not the runner's config
 * digest, so the ID is the nodes', never the runner's.
 */
export function agreedImageId(ref: string, ids: { node: string; id: string }[]): string {
  const distinct = [...new Set(ids.map((entry) => entry.id))]
  if (distinct.length === 1) return distinct[0]
  const listed = ids.map((entry) => `${entry.node}: ${entry.id}`).join(', ')
  throw new Error(
    `image: the nodes name ${ref} by different IDs (${listed}); a service names its image by one ID, which every node must have ` +
      '(mixed image stores? use the same store on every node)'
  )
}

/** Placement constraints that keep a slot's tasks off the nodes the image did not reach. */
export function constraintsFor(skipped: SwarmNode[]): string[] {
  return skipped.map((node) => `node.id!=${node.id}`)
}
