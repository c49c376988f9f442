import type { EnvVar } from '../inputs.js'
import type { Runner } from './guard.js'
import { confDir } from './paths.js'
import { SWARM_SCRIPTS } from './scripts.js'
import { envFileText } from './slots.js'
import { splitSections } from './survey.js'

// The steps a Swarm deploy takes on a manager (scripts/swarm-*.sh): what the Swarm holds, the
// overlay network, the proxy service, the slots' services and their tasks, a rolling update.
// Steps that change the Swarm run through the guarded runner: only while the manager's deploy
// lock is this run's.

export interface SwarmNode {
  id: string
  hostname: string
  /** The address the node gave the Swarm (docker node inspect .Status.Addr). */
  addr: string
  /** ready, down, unknown, disconnected */
  state: string
  /** active, pause, drain */
  availability: string
  role: string
  arch: string
}

export interface SwarmService {
  name: string
  id: string
  /** Tasks it asks for; undefined for a global service. */
  replicas?: number
  /** The image its spec names (an ID for the action's own services). */
  image: string
  endpointMode: string
  /** Published ports, as `port/mode`. */
  published: string[]
  /** UpdateStatus.State, when an update ran. */
  updateState: string
  /** bluegreen.image: the reference of the release it runs. */
  ref: string
  /** The image of its previous spec (what docker service rollback goes back to). */
  previousImage: string
}

export interface SwarmSurvey {
  /** docker info's Swarm.LocalNodeState: active, inactive, pending, error, locked. */
  localState: string
  /** The engine manages the Swarm (ControlAvailable). */
  manager: boolean
  /** The manager's own node ID. */
  nodeId: string
  nodes: SwarmNode[]
  /** The network as `driver scope attachable`; undefined when there is none. */
  network?: { driver: string; scope: string; attachable: boolean }
  /** By name; undefined when no service has it. */
  services: Map<string, SwarmService | undefined>
}

export function parseSwarmSurvey(stdout: string): SwarmSurvey {
  const sections = splitSections(stdout)
  const [localState = '', control = '', nodeId = ''] = (sections.get('swarm') ?? '').split(/\s+/)
  const [driver, scope, attachable] = (sections.get('network') ?? 'missing').split(/\s+/)
  return {
    localState,
    manager: control === 'true',
    nodeId,
    nodes: linesOf(sections.get('nodes')).map(parseNode),
    network: driver === 'missing' || !scope ? undefined : { driver, scope, attachable: attachable === 'true' },
    services: new Map(linesOf(sections.get('services')).map((line) => {
      const service = parseService(line)
      return [line.split('|')[0], service]
    }))
  }
}

function linesOf(text = ''): string[] {
  return text.split('\n').map((line) => line.trim()).filter(Boolean)
}

function parseNode(line: string): SwarmNode {
  const [id, hostname, addr, state, availability, role, arch] = line.split('|')
  return { id, hostname, addr, state, availability, role, arch }
}

function parseService(line: string): SwarmService | undefined {
  const [name, id, replicas, image, endpointMode, published, updateState, ref, previousImage] = line.split('|')
  if (id === 'missing' || id === undefined) return undefined
  return {
    name, id, image, endpointMode, updateState, ref, previousImage,
    replicas: replicas === 'global' ? undefined : Number(replicas),
    published: published.split(' ').filter(Boolean)
  }
}

export async function surveySwarm(run: Runner, network: string, services: string[]): Promise<SwarmSurvey> {
  const result = await run(SWARM_SCRIPTS.survey, [network, ...services])
  if (result.code !== 0) throw new Error(`Could not read the Swarm on the manager: ${result.stderr.trim() || `exit ${result.code}`}`)
  return parseSwarmSurvey(result.stdout)
}

/** What a guarded step said, or its failure as an Error with the host's words. */
async function step(run: Runner, script: string, args: string[], what: string, stdin?: string): Promise<string[]> {
  const result = await run(script, args, stdin === undefined ? undefined : { stdin })
  const lines = result.stdout.split('\n').filter(Boolean)
  if (result.code === 0) return lines
  const failed = lines.find((line) => line.startsWith('FAILED '))?.slice(7)
  throw new Error(`${what}: ${failed ?? (result.stderr.trim() || `exit ${result.code}`)}`)
}

export function ensureNetwork(run: Runner, network: string): Promise<string[]> {
  return step(run, SWARM_SCRIPTS.network, [network], `Could not create the overlay network ${network}`)
}

export interface ProxyServiceSpec {
  name: string
  network: string
  port: number
  /** The proxy image's ID, as every node has it. */
  imageId: string
}

export function ensureProxyService(run: Runner, spec: ProxyServiceSpec): Promise<string[]> {
  const args = [spec.name, spec.network, String(spec.port), spec.imageId, confDir(spec.network)]
  return step(run, SWARM_SCRIPTS.proxyService, args, `Could not create the proxy service ${spec.name}`)
}

/** A slot's service as created (scripts/swarm-service.sh). */
export interface SlotServiceSpec {
  name: string
  network: string
  replicas: number
  imageId: string
  service: string
  slot: string
  /** The release's reference, kept as a label. */
  ref: string
  /** docker service create flags of the app's runtime (runtime/swarm-args.ts). */
  flags: string[]
  command: string[]
  /** Placement constraints, such as node.id!=<id>. */
  constraints: string[]
}

export function createSlotService(run: Runner, spec: SlotServiceSpec, env: EnvVar[]): Promise<string[]> {
  const args = [
    spec.name, spec.network, String(spec.replicas), spec.imageId, spec.service, spec.slot, spec.ref,
    spec.flags.join('\n'), spec.command.join('\n'), spec.constraints.join('\n')
  ]
  return step(run, SWARM_SCRIPTS.createService, args, `Could not create the service ${spec.name}`, envFileText(env))
}

/** Scales a service (its spec stays), or removes it. */
export function scaleService(run: Runner, name: string, replicas: number | 'remove'): Promise<string[]> {
  return step(run, SWARM_SCRIPTS.scale, [name, String(replicas)], `Could not ${replicas === 'remove' ? 'remove' : 'scale'} the service ${name}`)
}

export interface Task {
  id: string
  nodeId: string
  /** Its address on the network. */
  addr: string
}

export type TasksResult = { ready: true; tasks: Task[] } | { ready: false; reason: string; logs: string[] }

/** Reads scripts/swarm-tasks.sh's output. */
export function parseTasks(code: number, lines: string[], stderr = ''): TasksResult {
  const tasks = lines.filter((line) => line.startsWith('TASK ')).map((line) => {
    const [, id, nodeId, addr = ''] = line.split(' ')
    return { id, nodeId, addr }
  })
  if (code === 0 && lines.includes('READY')) return { ready: true, tasks }
  const fail = lines.find((line) => line.startsWith('FAIL '))?.slice(5)
  const logs = lines.filter((line) => line.startsWith('LOG ')).map((line) => line.slice(4))
  return { ready: false, reason: fail ?? (stderr.trim() || `exit ${code}`), logs }
}

export interface TasksRequest {
  name: string
  want: number
  timeoutSeconds: number
  network: string
  /** Tasks that were there before this run's change. */
  ignore?: string[]
}

/** Waits (read-only) until `want` tasks run; a task that fails ends the wait at once. */
export async function waitTasks(run: Runner, request: TasksRequest, onLine: (line: string) => void): Promise<TasksResult> {
  const lines: string[] = []
  const args = [request.name, String(request.want), String(request.timeoutSeconds), request.network, (request.ignore ?? []).join('\n')]
  const result = await run(SWARM_SCRIPTS.tasks, args, {
    onLine: (line) => {
      lines.push(line)
      if (line.startsWith('WAIT ')) onLine(line.slice(5))
    }
  })
  return parseTasks(result.code, lines, result.stderr)
}

/** The IDs of every task the service has now (its history included). */
export async function taskIds(run: Runner, name: string): Promise<string[]> {
  const result = await run('docker service ps -q --no-trunc "$1" 2>/dev/null || true', [name])
  return result.stdout.split('\n').map((line) => line.trim()).filter(Boolean)
}

export type RollingOutcome =
  | { ok: true; unchanged: boolean }
  | { ok: false; kind: 'rolled-back' | 'paused' | 'timeout' | 'refused'; detail: string }

/** Reads scripts/swarm-rolling.sh's exit code and lines. */
export function rollingOutcome(code: number, lines: string[], stderr = ''): RollingOutcome {
  if (code === 0) return { ok: true, unchanged: lines.includes('UNCHANGED') }
  const said = (prefix: string): string => lines.find((line) => line.startsWith(prefix))?.slice(prefix.length).trim() ?? ''
  const state = [...lines].reverse().find((line) => line.startsWith('STATE '))?.slice(6).trim() ?? ''
  switch (code) {
    case 5: return { ok: false, kind: 'rolled-back', detail: said('ERROR ') || state }
    case 6: return { ok: false, kind: 'paused', detail: said('ERROR ') || state }
    case 4: return { ok: false, kind: 'timeout', detail: said('TIMEOUT ') }
    default: return { ok: false, kind: 'refused', detail: said('FAILED ') || stderr.trim() || `exit ${code}` }
  }
}

export interface RollingRequest {
  name: string
  imageId: string
  timeoutSeconds: number
  flags: string[]
}

export async function rollingUpdate(run: Runner, request: RollingRequest, onLine: (line: string) => void): Promise<RollingOutcome> {
  const lines: string[] = []
  const args = [request.name, request.imageId, String(request.timeoutSeconds), request.flags.join('\n')]
  const result = await run(SWARM_SCRIPTS.rolling, args, {
    onLine: (line) => {
      lines.push(line)
      if (line.startsWith('STATE ')) onLine(line.slice(6))
    }
  })
  return rollingOutcome(result.code, lines, result.stderr)
}
