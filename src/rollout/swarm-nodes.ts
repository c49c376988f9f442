import { guardedRunner, type Runner } from '../host/guard.js'
import type { Host } from '../host/index.js'
import { serviceDir } from '../host/paths.js'
import type { ProxySpec } from '../host/proxy.js'
import { resolveSituation } from '../host/state.js'
import { FanoutSource, SaveFanout } from '../image/fanout.js'
import type { ImageInfo } from '../image/info.js'
import { planImage, type ImagePlan } from '../image/plan.js'
import { platformVerdict } from '../image/platform.js'
import type { Inputs } from '../inputs.js'
import { hostLog, type Log } from '../report/log.js'
import { Phases } from '../report/phases.js'
import type { TransferReport } from '../report/report.js'
import { sendImage } from '../transfer/transfer.js'
import { codecFor, type Checked } from './check.js'
import { closeSession, lockHost, runnerStore, surveyHolds, type DeployDeps, type HostCheck, type Session } from './session.js'
import { agreedImageId, nodeName, type NodePlan, type NodesPlan } from './swarm-plan.js'

// The nodes of a Swarm, reached over SSH like the hosts of a rollout (several-hosts.ts): each one
// connected, checked read-only and locked (its lock is per service, so cheap), the manager's
// lock first: that one is the Swarm's, and taking it first keeps two deploys from each holding
// some nodes while waiting for the others. Then every node that lacks the image gets the layers
// it lacks (from the runner's store, or one docker save fanned out to them all), and every node
// must hold it, under one ID, before anything in the Swarm changes.

/** A node's connection: the action's host steps, and its shell for the Swarm's own steps. */
export interface NodeLink {
  host: Host
  run: Runner
}

export type ConnectNode = (inputs: Inputs) => Promise<NodeLink>

export interface SwarmDeps extends DeployDeps {
  connectNode: ConnectNode
}

/** What a node's check saw besides the image: the proxy image's ID there, and whether proxy-port is taken. */
interface NodeSight {
  proxyImageId?: string
  portBusy: boolean
}

/** Stands in for the image on a node that needs none (a drained manager, a rollback's check). */
const NO_IMAGE: ImageInfo = { id: '', diffIds: [], exposedPorts: [], sizeBytes: 0, hasHealthcheck: false, repoTags: [], configKey: '' }

export class SwarmMember {
  readonly name: string
  readonly inputs: Inputs
  readonly phases: Phases
  readonly log: Log
  readonly deps: DeployDeps
  link?: NodeLink
  session?: Session
  sight: NodeSight = { portBusy: false }
  /** The app's image as this node holds it, once it does. */
  image?: ImageInfo
  transfer?: TransferReport
  private guardedRun?: Runner

  constructor(readonly plan: NodePlan, inputs: Inputs, deps: DeployDeps) {
    this.name = plan.node.hostname
    this.log = hostLog(this.name)
    this.phases = new Phases(this.log)
    this.deps = { ...deps, log: this.log, phases: this.phases }
    const { target } = plan
    this.inputs = { ...inputs, host: target.host, port: target.port, hosts: [], fingerprints: target.fingerprints.length ? target.fingerprints : inputs.fingerprints }
  }

  get host(): Host {
    if (!this.link) throw new Error(`${this.name} is not connected`)
    return this.link.host
  }

  /** Read-only steps of the Swarm's own. */
  get run(): Runner {
    if (!this.link) throw new Error(`${this.name} is not connected`)
    return this.link.run
  }

  /** Steps that change the node: only while the run holds its lock (checked here, and on the node). */
  get guarded(): Runner {
    this.session?.lock.assertHeld()
    const service = this.inputs.service
    this.guardedRun ??= guardedRunner(
      (script, args, options) => this.run(script, args, options),
      () => (this.session ? { dir: serviceDir(service), generation: this.session.lock.generation } : undefined),
      () => service
    )
    return this.guardedRun
  }

  get checked(): Checked {
    if (!this.session) throw new Error(`${this.name} is not locked`)
    return this.session.checked
  }

  /** The check's survey still holds (no other lock came between it and this run's). */
  get surveyHolds(): boolean {
    return this.session !== undefined && surveyHolds(this.session)
  }

  toString(): string {
    return nodeName(this.plan.node)
  }
}

export class SwarmCrew {
  readonly members: SwarmMember[]
  private readonly runnerImage: () => Promise<ImageInfo | undefined>

  constructor(inputs: Inputs, private readonly deps: SwarmDeps, plan: NodesPlan, managerLink: NodeLink) {
    this.members = plan.reach.map((node) => new SwarmMember(node, inputs, deps))
    this.manager.link = managerLink
    let local: Promise<ImageInfo | undefined> | undefined
    this.runnerImage = () => (local ??= deps.runner.inspect(inputs.image))
  }

  get manager(): SwarmMember {
    return this.members.find((m) => m.plan.self)!
  }

  /** The nodes Swarm may place tasks on: each holds the image and runs a proxy task. */
  get taskNodes(): SwarmMember[] {
    return this.members.filter((m) => m.plan.runsTasks)
  }

  /** Every node at once; one that cannot be reached stops the run with nothing changed. */
  async connect(): Promise<void> {
    const others = this.members.filter((m) => !m.link)
    await settleAll(others, (m) => m.phases.run('connect', `Connect to ${m.inputs.host}:${m.inputs.port}`, async () => {
      m.link = await this.deps.connectNode(m.inputs)
    }), 'Refused before anything in the Swarm changed: every node that may run a task must be reachable over SSH (or drained: docker node update --availability drain NODE)')
  }

  /** Checks (read-only) and locks every node, the manager first; `proxy`: the blue-green proxy needs its image on each. */
  async lock(proxy: boolean): Promise<void> {
    const lockOne = async (m: SwarmMember): Promise<void> => {
      m.session = await lockHost(m.inputs, m.host, m.deps, m.phases, false, this.check(m, proxy))
    }
    const refused = 'Refused before anything in the Swarm changed'
    await settleAll([this.manager], lockOne, refused)
    await settleAll(this.members.filter((m) => !m.plan.self), lockOne, refused)
  }

  /** A node's read-only check: Docker there, the image and whether it must travel, its CPU, the proxy image. */
  private check(m: SwarmMember, proxy: boolean): HostCheck {
    return async (inputs, host, _runner, log) => {
      const wanted = !inputs.rollback && m.plan.runsTasks
      const spec: ProxySpec = { network: inputs.network, port: inputs.proxyPort, image: inputs.proxyImage, service: inputs.service, serverNames: inputs.serverNames }
      const [local, found, proxyImage] = await Promise.all([
        wanted ? this.runnerImage() : undefined,
        host.survey({ proxy: spec, image: wanted ? inputs.image : undefined, preflight: true, layers: wanted }),
        proxy && m.plan.runsTasks ? host.inspectImage(inputs.proxyImage) : undefined
      ])
      log.info(`Docker ${host.facts.dockerVersion} on ${host.target} as ${host.facts.user}`)
      m.sight = { proxyImageId: proxyImage?.id, portBusy: found.proxy.portBusy }
      let plan: ImagePlan = { ref: inputs.image, image: NO_IMAGE, source: 'rollback', appPort: inputs.appPort ?? 0 }
      if (wanted) {
        codecFor(inputs, host)
        plan = await planImage(inputs, host, { local, onHost: found.image }, resolveSituation(found.snapshot))
        if (plan.source === 'sent') {
          const verdict = platformVerdict(plan.ref, plan.image.platform, host.facts.platform, host.facts.emulated ?? [])
          if (!verdict.ok) throw new Error(verdict.problem)
          if (verdict.warning) log.warning(verdict.warning)
        }
        if (plan.source !== 'sent') m.image = found.image
      }
      return { proxy: spec, local, survey: found, plan }
    }
  }

  /**
   * Every node that lacks the image gets it at once, and verifies what it loaded. Each reads the
   * layers it lacks from the runner's store where that can be read (nothing waits for an export);
   * else one docker save serves them all, each reading a branch of it.
   */
  async sendImage(): Promise<void> {
    const senders = this.taskNodes.filter((m) => m.checked.plan.source === 'sent')
    for (const m of this.taskNodes.filter((m) => !senders.includes(m))) m.transfer = notSent(m.checked.plan)
    if (senders.length === 0) return
    const { ref, image } = senders[0].checked.plan
    const store = await runnerStore(senders[0].inputs, this.deps, image)
    const fanout = store ? undefined : new SaveFanout(this.deps.runner.save(ref), senders.length)
    await settleAll(senders, async (m) => {
      const branch = fanout?.branch(senders.indexOf(m))
      const source = branch && new FanoutSource(ref, branch, (again) => this.deps.runner.save(again))
      try {
        await m.phases.run('transfer', `Transfer ${ref}`, async () => {
          const codec = codecFor(m.inputs, m.host)
          const result = await sendImage(m.host, ref, image, codec, {
            spoolDir: process.env.RUNNER_TEMP || undefined,
            save: (again) => source?.take(again) ?? this.deps.runner.save(again),
            layerSizes: (again) => this.deps.runner.layerSizes(again),
            log: (line) => m.log.info(line),
            signal: this.deps.signal,
            store,
            // Else another deploy may have changed the node's images since: the transfer lists them itself.
            listed: m.surveyHolds ? m.checked.survey.layers : undefined
          })
          m.image = result.loaded
          m.transfer = {
            source: result.tagged ? 'tagged' : 'sent', sentBytes: result.sentBytes, archiveBytes: result.archiveBytes, imageBytes: image.sizeBytes,
            skippedLayers: result.skippedLayers, totalLayers: result.totalLayers, durationMs: result.durationMs, codec: codec.codec
          }
        })
      } finally {
        source?.stop()
      }
    }, 'The image did not reach every node that may run a task; nothing in the Swarm changed')
  }

  /** The ID every task node reports for the image it holds (they must agree). */
  agreedId(ref: string): string {
    return agreedImageId(ref, this.taskNodes.map((m) => ({ node: m.name, id: m.image?.id ?? 'none' })))
  }

  /**
   * Every task node holds image `id` now (asked again: the check may be minutes old), or the
   * run stops before the Swarm changes.
   */
  async confirmImage(ref: string, id: string): Promise<void> {
    await settleAll(this.taskNodes, async (m) => {
      if (!(await m.host.inspectImage(id))) throw new Error(`the image ${ref} (${id}) is not on this node`)
    }, 'Every node that may run a task must hold the image; nothing in the Swarm changed')
  }

  /** The lock sessions end and every connection closes. */
  async close(): Promise<void> {
    await Promise.all(this.members.map((m) => (m.session ? closeSession(m.session).catch(() => undefined) : undefined)))
    for (const m of this.members) m.link?.host.close()
  }

  /** The first node whose connection was lost, and why. */
  lost(): { member: SwarmMember; reason: string } | undefined {
    for (const m of this.members) {
      const reason = m.link?.host.lost()
      if (reason) return { member: m, reason }
    }
    return undefined
  }
}

function notSent(plan: ImagePlan): TransferReport {
  const layers = plan.image.diffIds.length
  return { source: plan.source, sentBytes: 0, archiveBytes: 0, imageBytes: plan.image.sizeBytes, skippedLayers: layers, totalLayers: layers, durationMs: 0 }
}

/**
 * Runs `work` on every member at once; any failure stops the run with `headline` and each
 * failed node's words (once, when every node said the same).
 */
export async function settleAll(members: SwarmMember[], work: (m: SwarmMember) => Promise<void>, headline: string): Promise<void> {
  const results = await Promise.allSettled(members.map(work))
  const failed = results.flatMap((result, i) => (result.status === 'rejected' ? [{ member: members[i], error: result.reason as Error }] : []))
  if (failed.length === 0) return
  // A lost lock is the run's own matter, not a node's: it stops as such.
  const lost = failed.find((entry) => entry.error.name === 'LostLockError')
  if (lost) throw lost.error
  throw new Error(`${headline}:\n${nodeLines(failed.map((entry) => ({ member: entry.member, message: entry.error.message }))).join('\n')}`)
}

/** A line per node and what it said, or one line when every node said the same. */
export function nodeLines(failed: { member: SwarmMember; message: string }[]): string[] {
  const said = [...new Set(failed.map((entry) => entry.message))]
  if (said.length === 1 && failed.length > 1) return [`on ${failed.map((entry) => entry.member).join(', ')}: ${said[0]}`]
  return failed.map((entry) => `${entry.member}: ${entry.message}`)
}
