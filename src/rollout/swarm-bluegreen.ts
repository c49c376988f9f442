import { LostLockError } from '../host/guard.js'
import type { Route } from '../host/nginx-config.js'
import { proxyName } from '../host/paths.js'
import { proxyProblems } from '../host/proxy.js'
import { nextState, type Release, type ServiceState, type Situation } from '../host/state.js'
import type { Survey } from '../host/survey.js'
import {
  createSlotService, ensureNetwork, ensureProxyService, scaleService, surveySwarm, taskIds, waitTasks,
  type SwarmNode, type SwarmService, type SwarmSurvey, type Task
} from '../host/swarm.js'
import { drainNode, nodeReady, removeNodeConf, switchNode, waitNodeProxy, writeNodeConf } from '../host/swarm-proxy.js'
import { shortId } from '../image/info.js'
import type { Inputs } from '../inputs.js'
import { stepLog, type Log } from '../report/log.js'
import type { Phases } from '../report/phases.js'
import type { DeployReport } from '../report/report.js'
import { totalTransfer, type SwarmBlueGreenReport } from '../report/swarm-report.js'
import { commandWords } from '../runtime/docker-args.js'
import { serviceCreateFlags } from '../runtime/swarm-args.js'
import { CancelledError, untilCancelled } from './cancel.js'
import { agreedImageId, constraintsFor, serviceNames, slotService, swarmConf, swarmSituation, tasksName, type SwarmSituation } from './swarm-plan.js'
import { nodeLines, settleAll, type SwarmCrew, type SwarmDeps, type SwarmMember } from './swarm-nodes.js'

/**
 * Blue-green between two Swarm services, <service>-blue and <service>-green, behind the proxy
 * service (a global nginx, one task per node, publishing proxy-port in host mode). Each node's
 * proxy reads the same config from the node's own disk, which names both slots by their Docker DNS
 * names (tasks.<service>-<slot>), and a symlink per node picks the live slot per request. The idle
 * slot's service is made afresh with `replicas` tasks of the image by ID; once every task runs and
 * answers the health path, as every node's proxy sees it, every node's symlink is renamed (no
 * reload, no service update), each verified through its own proxy, and any failure sends every
 * node back. The old service drains and scales to 0: its spec stays for an instant rollback.
 */
export class SwarmBlueGreen {
  private swarm!: SwarmSurvey
  private seen!: SwarmSituation
  private situation!: Situation
  private state!: ServiceState
  private candidate!: Release
  private ref = ''
  private readonly log: Log
  /** This run made the candidate's service (removed on failure), or scaled a kept one up (scaled back). */
  private made?: 'created' | 'scaled'
  /** Nodes whose config this run wrote (a first deploy's is taken back on failure). */
  private readonly wrote: SwarmMember[] = []
  private reloaded = false
  private healthAttempts = 0

  constructor(
    private readonly inputs: Inputs,
    private readonly deps: SwarmDeps,
    private readonly phases: Phases,
    private readonly crew: SwarmCrew,
    private readonly skipped: SwarmNode[]
  ) {
    this.log = deps.log ?? stepLog
  }

  async run(): Promise<SwarmBlueGreenReport> {
    const name = (): string => this.candidate.container
    try {
      await this.step('state', 'Read the live slot on every node', () => this.readSituation())
      await this.step('transfer', 'Send the image to every node that lacks it', () => this.placeImage())
      await this.step('proxy', 'Make sure the network, the proxy config and the proxy service are there', () => this.ensureProxy())
      await this.step('candidate', `Start ${name()} (${this.inputs.replicas} task(s))`, () => this.startCandidate())
      await this.step('health', `Health-check every task of ${name()} from every node`, () => this.checkHealth())
      await this.step('switch', `Switch every node's proxy to ${this.candidate.slot}`, () => this.switchAll())
    } catch (error) {
      throw await this.undo(error as Error)
    }
    return this.finish()
  }

  private get tasks(): SwarmMember[] {
    return this.crew.taskNodes
  }

  private get manager(): SwarmMember {
    return this.crew.manager
  }

  /**
   * A phase before the switch: not started once cancelled, and ended at once by a cancel: the
   * remote loops of every node are told to stop (cancel.sh), so the undo that follows finds
   * their shells free.
   */
  private async step(name: string, title: string, body: () => Promise<void>): Promise<void> {
    if (this.deps.signal?.aborted) throw new CancelledError('Cancelled')
    this.manager.session?.lock.assertHeld()
    const stop = (): void => void Promise.all(this.crew.members.map((m) => m.link?.host.cancel().catch(() => undefined)))
    this.deps.signal?.addEventListener('abort', stop, { once: true })
    try {
      await this.phases.run(name, title, () => untilCancelled(body(), this.deps.signal, () => 'Cancelled'))
    } finally {
      this.deps.signal?.removeEventListener('abort', stop)
    }
  }

  // ---------------------------------------------------------------------------------- state

  private async readSituation(): Promise<void> {
    const { inputs } = this
    // Read again under the lock: another deploy may have come between the check and the lock.
    this.swarm = await surveySwarm(this.manager.run, inputs.network, serviceNames(inputs))
    const members = [...new Set([this.manager, ...this.tasks])]
    const read = await Promise.all(members.map((m) => this.surveyUnderLock(m)))
    const surveys = this.tasks.map((m) => read[members.indexOf(m)])
    this.state = read[0].snapshot.state
    this.seen = swarmSituation(this.state, surveys.map((survey) => survey.snapshot.route))
    this.situation = this.seen.situation
    const { live, idleSlot, recovered } = this.situation
    if (recovered) this.log.warning("The manager's record disagreed with the nodes' proxy config (a run died mid-deploy); the proxy config wins")
    this.log.info(live ? `Live: ${live.slot} (${live.container}, ${live.image})` : `No live release of ${inputs.service} yet`)
    this.refuseWhatCannotWork(surveys)
    const rollback = inputs.rollback ? this.situation.previous : undefined
    if (inputs.rollback && !rollback) throw new Error(`rollback: the Swarm records no previous release of ${inputs.service} to roll back to`)
    this.ref = rollback?.image ?? inputs.image
    this.candidate = {
      slot: idleSlot,
      container: slotService(inputs.service, idleSlot),
      image: this.ref,
      imageId: rollback?.imageId ?? '',
      appPort: rollback ? (inputs.appPort ?? rollback.appPort) : this.tasks[0]?.checked.plan.appPort ?? inputs.appPort ?? 0,
      deployedAt: ''
    }
    if (this.tasks.length === 0) throw new Error('The Swarm has no node that may run a task (every node is drained)')
  }

  /** The check's survey when no other lock came between (read again otherwise). */
  private async surveyUnderLock(m: SwarmMember): Promise<Survey> {
    return m.surveyHolds ? m.checked.survey : m.host.survey({ proxy: m.checked.proxy })
  }

  /** Everything that can be refused is refused here, before the Swarm changes. */
  private refuseWhatCannotWork(surveys: Survey[]): void {
    const { inputs, swarm } = this
    const problems: string[] = []
    const network = swarm.network
    if (network && (network.driver !== 'overlay' || network.scope !== 'swarm')) {
      problems.push(`network: ${inputs.network} is a ${network.driver} network of scope ${network.scope}; a Swarm deploy needs an overlay network: give another name (the action creates it)`)
    }
    const proxy = swarm.services.get(proxyName(inputs.network))
    if (proxy) problems.push(...proxyServiceProblems(proxy, inputs))
    else problems.push(...this.proxyImageProblems())
    for (const survey of surveys) {
      // Only the server names count here: the proxy is a service, not the container proxyProblems looks for.
      const sight = { ...survey.proxy, status: 'service', portBusy: false, publishedPort: undefined }
      for (const problem of proxyProblems(sight, { network: inputs.network, port: inputs.proxyPort, image: inputs.proxyImage, service: inputs.service, serverNames: inputs.serverNames })) {
        if (!problems.includes(problem)) problems.push(problem)
      }
    }
    if (problems.length) throw new Error(`Refused before anything in the Swarm changed:\n${problems.join('\n')}`)
  }

  /** Before the proxy service exists: its port must be free on every node, and its image there under one ID. */
  private proxyImageProblems(): string[] {
    const { inputs } = this
    const problems = this.tasks.filter((m) => m.sight.portBusy).map((m) => `proxy-port: port ${inputs.proxyPort} is already in use on node ${m}`)
    const missing = this.tasks.filter((m) => !m.sight.proxyImageId)
    if (missing.length) {
      problems.push(`proxy-image: ${inputs.proxyImage} is not on ${missing.join(', ')}; the proxy service runs it by ID and no node pulls it: load it there (docker pull, or docker save | ssh NODE docker load)`)
    } else {
      try {
        agreedImageId(inputs.proxyImage, this.tasks.map((m) => ({ node: m.name, id: m.sight.proxyImageId! })))
      } catch (error) {
        problems.push((error as Error).message.replace(/^image:/, 'proxy-image:'))
      }
    }
    return problems
  }

  /**
   * Nodes that disagree (a run killed mid-switch, a node that joined since) point at the live slot
   * first. Requests they had sent to the other slot finish before its service is made afresh.
   */
  private async repair(): Promise<void> {
    const route = this.seen.route!
    this.log.warning(`The nodes' proxies did not all serve ${route.slot} (a run died mid-switch, or a node is new): every node serves ${route.container} again first`)
    const moved: SwarmMember[] = []
    await settleAll(this.tasks, async (m) => {
      const done = await switchNode(m.guarded, this.inputs.network, this.inputs.service, { slot: route.slot, route, healthPath: route.healthPath ?? '/' })
      if (!done.ok) throw new Error(done.message)
      if (done.before !== route.slot) moved.push(m)
    }, 'The nodes could not all be brought back to the live slot; nothing else changed')
    const idle = this.candidate.container
    if (this.swarm.services.get(idle)) await this.drain(moved, idle)
  }

  /** Waits until the proxies of `nodes` hold no connection to the running tasks of `service`; returns those left open. */
  private async drain(nodes: SwarmMember[], service: string): Promise<number> {
    if (nodes.length === 0) return 0
    const running = await waitTasks(this.manager.guarded, { name: service, want: 0, timeoutSeconds: 5, network: this.inputs.network }, () => undefined)
    const addresses = running.ready ? running.tasks.map((task) => task.addr).filter(Boolean) : []
    const counts = await Promise.all(nodes.map((m) =>
      drainNode(m.guarded, this.inputs.network, addresses, this.inputs.drainTimeout, (count) => m.log.info(`Waiting for ${count} connection(s) to ${service}`))))
    const open = counts.reduce((sum, count) => sum + count, 0)
    if (open > 0) this.log.warning(`drain-timeout reached with ${open} connection(s) to ${service} still open`)
    return open
  }

  // ---------------------------------------------------------------------------------- image

  private async placeImage(): Promise<void> {
    if (this.inputs.rollback) {
      this.log.info(`Rolling back to ${this.ref} (${shortId(this.candidate.imageId)}): no transfer, every node must still have it`)
    } else {
      await this.crew.sendImage()
      this.candidate.imageId = this.crew.agreedId(this.ref)
    }
    await this.crew.confirmImage(this.ref, this.candidate.imageId)
    this.log.info(`Every node holds ${this.ref} as ${shortId(this.candidate.imageId)}; the service names it by that ID, which no node pulls`)
  }

  // ---------------------------------------------------------------------------------- proxy

  private async ensureProxy(): Promise<void> {
    const { inputs } = this
    // The first change, once every node holds the image: nodes that disagree serve the live slot again.
    if (this.seen.repair) await this.repair()
    this.log.info((await ensureNetwork(this.manager.guarded, inputs.network)).join(', '))
    const conf = swarmConf({
      service: inputs.service, serverNames: inputs.serverNames, websocketTimeout: inputs.websocketTimeout, accessLog: inputs.accessLog,
      slot: this.candidate.slot, appPort: this.candidate.appPort
    }, this.seen.route)
    // The config goes first: a proxy task whose bind-mounted folder is missing cannot start.
    await settleAll(this.tasks, async (m) => {
      const wrote = await writeNodeConf(m.guarded, inputs.network, inputs.service, conf)
      if (wrote !== 'unchanged') this.wrote.push(m)
      if (wrote === 'reloaded') this.reloaded = true
    }, 'The proxy config could not be written on every node')
    if (this.wrote.length) this.log.info(`The proxy config of ${inputs.service} changed on ${this.wrote.join(', ')}${this.reloaded ? ': nginx reloaded gracefully' : ''}`)
    if (!this.swarm.services.get(proxyName(inputs.network))) {
      const imageId = this.tasks[0].sight.proxyImageId!
      const said = await ensureProxyService(this.manager.guarded, { name: proxyName(inputs.network), network: inputs.network, port: inputs.proxyPort, imageId })
      this.log.info(said.join(', '))
    }
    const wait = Math.max(inputs.healthTimeout, 30)
    await settleAll(this.tasks, async (m) => {
      if (!(await waitNodeProxy(m.run, inputs.network, wait))) throw new Error(`no task of ${proxyName(inputs.network)} runs here with a valid config after ${wait} s (docker service ps ${proxyName(inputs.network)} says why)`)
    }, 'Every node that may run a task must run a proxy task')
  }

  // ---------------------------------------------------------------------------------- candidate

  private ignoredTasks: string[] = []

  /** A rollback scales the kept service back up; a deploy makes the idle slot's service afresh. */
  private async startCandidate(): Promise<void> {
    const { inputs, candidate } = this
    const kept = this.swarm.services.get(candidate.container)
    if (inputs.rollback && kept?.image === candidate.imageId) {
      this.ignoredTasks = await taskIds(this.manager.run, candidate.container)
      this.made = 'scaled'
      await scaleService(this.manager.guarded, candidate.container, inputs.replicas)
      return this.log.info(`Scaled the kept ${candidate.container} (${candidate.image}) back up to ${inputs.replicas}: no transfer, no new spec`)
    }
    this.made = 'created'
    const said = await createSlotService(this.manager.guarded, {
      name: candidate.container, network: inputs.network, replicas: inputs.replicas, imageId: candidate.imageId, service: inputs.service,
      slot: candidate.slot, ref: candidate.image, flags: serviceCreateFlags(inputs.runtime), command: commandWords(inputs.runtime.command),
      constraints: constraintsFor(this.skipped)
    }, inputs.env)
    if (said.some((line) => line.startsWith('REMOVED'))) this.log.info(`Replaced the old ${candidate.container} (the release before the live one, or one a run left)`)
    this.log.info(`Created ${candidate.container}: ${inputs.replicas} task(s) of ${shortId(candidate.imageId)}, reached as ${tasksName(inputs.service, candidate.slot)}`)
  }

  /**
   * Every task runs (Swarm waits for an image's HEALTHCHECK first), and from every node's proxy
   * Docker's DNS gives exactly those tasks, each answering the health path. Asked in rounds of
   * a few seconds, with the tasks read again after each: a task that exits (Swarm marks one
   * running as soon as it starts when the image has no HEALTHCHECK) ends the check at once.
   */
  private async checkHealth(): Promise<void> {
    const { inputs, candidate } = this
    const deadline = Date.now() + inputs.healthTimeout * 1000
    const left = (): number => Math.max(1, Math.ceil((deadline - Date.now()) / 1000))
    const tasks = await this.waitForTasks(left())
    const addresses = tasks.map((task) => task.addr)
    if (addresses.some((addr) => !addr)) throw new Error(`A task of ${candidate.container} has no address on ${inputs.network}`)
    this.log.info(`${tasks.length} task(s) run at ${addresses.join(', ')}; asking each from every node's proxy`)
    const request = { network: inputs.network, name: tasksName(inputs.service, candidate.slot), port: candidate.appPort, healthPath: inputs.healthPath, addresses }
    const pending = new Map(this.tasks.map((m) => [m, '']))
    const ids = (list: Task[]): string => list.map((task) => task.id).sort().join()
    for (;;) {
      this.healthAttempts++
      const round = Math.min(HEALTH_ROUND_SECONDS, left())
      await Promise.all([...pending.keys()].map(async (m) => {
        const ready = await nodeReady(m.guarded, { ...request, timeoutSeconds: round }, () => undefined)
        if (ready.ready) {
          pending.delete(m)
        } else {
          if (pending.get(m) !== ready.sight) m.log.info(ready.sight)
          pending.set(m, ready.sight)
        }
      }))
      if (ids(await this.waitForTasks(1)) !== ids(tasks)) throw new Error(`A task of ${candidate.container} was replaced during the health check (it stopped); not switching`)
      if (pending.size === 0) return
      if (Date.now() >= deadline) {
        const failed = [...pending].map(([member, sight]) => ({ member, message: sight }))
        throw new Error(`Health check of ${candidate.container} failed: no healthy answer from every task within health-timeout (${inputs.healthTimeout} s), ` +
          `as each node's proxy sees them:\n${nodeLines(failed).join('\n')}`)
      }
    }
  }

  private async waitForTasks(seconds: number): Promise<Task[]> {
    const { inputs, candidate } = this
    const request = { name: candidate.container, want: inputs.replicas, timeoutSeconds: seconds, network: inputs.network, ignore: this.ignoredTasks }
    const result = await waitTasks(this.manager.guarded, request, (line) => this.log.info(line))
    if (result.ready) return result.tasks
    const logs = result.logs.length ? `\nLast log lines of ${candidate.container}:\n${result.logs.join('\n')}` : ''
    // Swarm names nodes by ID; people know them by host name.
    const reason = this.swarm.nodes.reduce((text, node) => text.replaceAll(node.id, node.hostname), result.reason)
    throw new Error(`Health check of ${candidate.container} failed: ${reason}${logs}`)
  }

  // ---------------------------------------------------------------------------------- switch

  /** Every node's symlink, each verified through its own proxy; a node that fails sends every node back. */
  private async switchAll(): Promise<void> {
    const { inputs } = this
    const route = this.liveRoute()
    const results = await Promise.allSettled(this.tasks.map((m) => switchNode(m.guarded, inputs.network, inputs.service, { slot: route.slot, route, healthPath: inputs.healthPath })))
    const lost = results.find((result) => result.status === 'rejected' && result.reason instanceof LostLockError)
    if (lost) throw (lost as PromiseRejectedResult).reason
    const failed = results.flatMap((result, i) => {
      if (result.status === 'rejected') return [`${this.tasks[i]}: ${(result.reason as Error).message}`]
      return result.value.ok ? [] : [`${this.tasks[i]}: ${result.value.message}`]
    })
    if (failed.length === 0) {
      return this.log.info(`Every node's proxy now serves ${this.candidate.container}, without a reload`)
    }
    const back = await this.switchBack()
    if (!back.ok) this.stuck = true
    throw new Error(`The switch failed on ${failed.length} of ${this.tasks.length} node(s):\n${failed.join('\n')}\n${back.message}`)
  }

  /** Some node may still serve the candidate after a failed switch back: it must not be removed. */
  private stuck = false

  /** Every node back to what was live (a first deploy: to nothing). */
  private async switchBack(): Promise<{ ok: boolean; message: string }> {
    const old = this.seen.route
    const results = await Promise.allSettled(this.tasks.map((m) =>
      switchNode(m.guarded, this.inputs.network, this.inputs.service, { slot: old?.slot, route: old, healthPath: old?.healthPath ?? '/' })))
    const failed = results.filter((result) => result.status === 'rejected' || !result.value.ok).length
    const what = old ? `${old.container} (${old.image})` : 'nothing (first deploy)'
    if (failed) return { ok: false, message: `Switching back failed on ${failed} node(s); those may still serve ${this.candidate.container}, which keeps running` }
    return { ok: true, message: `Every node serves ${what} again` }
  }

  /** The route the candidate's slot gets, recorded on every node as it goes live. */
  private liveRoute(): Route {
    const { inputs, candidate } = this
    return {
      service: inputs.service, slot: candidate.slot, container: candidate.container, appPort: candidate.appPort, image: candidate.image,
      imageId: candidate.imageId, serverNames: inputs.serverNames, targets: [`${tasksName(inputs.service, candidate.slot)}:${candidate.appPort}`],
      healthPath: inputs.healthPath
    }
  }

  // ---------------------------------------------------------------------------------- after the switch

  private async finish(): Promise<SwarmBlueGreenReport> {
    const state = await this.phases.run('record', 'Record the release on the manager', () => this.record())
    if (this.deps.signal?.aborted) throw this.cancelledAfterSwitch()
    const retired = await this.phases.run('retire', 'Drain the old slot and scale it to 0', () =>
      untilCancelled(this.retire(state), this.deps.signal, () => this.cancelledAfterSwitch().message)
    )
    return this.report(state, retired)
  }

  private async record(): Promise<ServiceState> {
    this.candidate.deployedAt = new Date().toISOString()
    const state = nextState(this.state, this.situation, this.candidate)
    await this.manager.host.writeState(state)
    const previous = state.previous ? `; previous: ${state.previous.slot} (${state.previous.image})` : ''
    this.log.info(`Recorded on the manager: live ${state.live?.slot} (${state.live?.image})${previous}`)
    return state
  }

  /** The old service drains on every node's proxy, then scales to 0; its spec stays for `rollback: true`. */
  private async retire(state: ServiceState): Promise<{ open: number; pruned: string[] }> {
    const old = this.situation.live
    let open = 0
    if (old && old.container !== this.candidate.container) {
      open = await this.drain(this.tasks, old.container)
      await scaleService(this.manager.guarded, old.container, 0)
      this.log.info(`Scaled ${old.container} to 0; its spec stays for an instant rollback`)
    }
    return { open, pruned: await this.prune(state) }
  }

  /** Keeps the live and previous releases' images on every node; older recorded releases give theirs back. */
  private async prune(state: ServiceState): Promise<string[]> {
    const kept = [state.live, state.previous].filter((release) => release !== undefined)
    const keep = new Set(kept.flatMap((release) => [release.imageId, release.image]))
    const refs = [...new Set(state.history.filter((release) => !keep.has(release.imageId) && !keep.has(release.image)).map((release) => release.image))]
    if (refs.length === 0) return []
    const pruned = await Promise.all(this.tasks.map((m) => m.host.pruneImages(refs).catch(() => [] as string[])))
    const all = [...new Set(pruned.flat())]
    if (all.length) this.log.info(`Removed images of older releases: ${all.join(', ')}`)
    return all
  }

  private cancelledAfterSwitch(): CancelledError {
    const old = this.situation.live
    const left = old ? `; ${old.container} keeps its tasks until the next deploy scales it to 0` : ''
    return new CancelledError(`Cancelled after the switch: ${this.candidate.container} (${this.candidate.image}) is live and recorded${left}`)
  }

  // ---------------------------------------------------------------------------------- undo

  /**
   * Before the switch (or after a switch that every node took back): the candidate's service goes
   * (a kept one scales back to 0), a first deploy's config goes, and the error says what serves.
   * A run that lost a lock touches nothing: another deploy may own the Swarm.
   */
  private async undo(error: Error): Promise<Error> {
    if (error instanceof LostLockError) {
      const left = this.made ? ` ${this.candidate.container} may be left for the next deploy to replace.` : ''
      return new Error(`${error.message}.${left}`)
    }
    const cleanup: string[] = []
    if (this.made && !this.stuck) {
      const name = this.candidate.container
      const undone = this.made === 'created' ? scaleService(this.manager.guarded, name, 'remove') : scaleService(this.manager.guarded, name, 0)
      await undone.then(
        () => cleanup.push(this.made === 'created' ? `the candidate service ${name} was removed` : `${name} was scaled back to 0`),
        (failure: Error) => cleanup.push(`${name} could not be removed (${failure.message}); the next deploy replaces it`)
      )
    }
    const live = this.situation?.live
    if (this.wrote.length && !live) {
      await Promise.all(this.wrote.map((m) => removeNodeConf(m.guarded, this.inputs.network, this.inputs.service, true).catch(() => undefined)))
    }
    const serving = !this.situation
      ? 'nothing in the Swarm changed'
      : live
        ? `The Swarm is as before: ${live.container} (${live.image}) still serves on port ${this.inputs.proxyPort} of every node`
        : `Nothing of ${this.inputs.service} was live, and the proxy routes nothing to it`
    const done = cleanup.length ? `; ${cleanup.join('; ')}` : ''
    if (error instanceof CancelledError || this.deps.signal?.aborted) return new CancelledError(`Cancelled before the switch: ${serving}${done}.`)
    return new Error(`${error.message}\n${serving}${done}.`)
  }

  // ---------------------------------------------------------------------------------- report

  private report(state: ServiceState, retired: { open: number; pruned: string[] }): SwarmBlueGreenReport {
    const { inputs, candidate } = this
    const transfers = this.tasks.map((m) => m.transfer).filter((transfer) => transfer !== undefined)
    const imageBytes = this.tasks.find((m) => m.image)?.image?.sizeBytes ?? 0
    const deploy: DeployReport = {
      service: inputs.service,
      target: `${this.manager.host.target} (Swarm manager)`,
      network: inputs.network,
      proxyPort: inputs.proxyPort,
      serverNames: inputs.serverNames,
      slot: candidate.slot,
      container: candidate.container,
      image: candidate.image,
      imageId: candidate.imageId,
      appPort: candidate.appPort,
      replaced: this.situation.live,
      previous: state.previous,
      rollback: inputs.rollback,
      recovered: this.situation.recovered,
      transfer: totalTransfer(transfers, imageBytes),
      healthAttempts: this.healthAttempts,
      drainOpenConnections: retired.open,
      pruned: retired.pruned,
      reloaded: this.reloaded,
      phases: this.phases.times
    }
    return {
      kind: 'bluegreen',
      deploy,
      replicas: inputs.replicas,
      nodes: this.crew.members.map((m) => ({ node: m.name, target: m.host.target, transfer: m.transfer })),
      skipped: this.skipped.map((node) => node.hostname)
    }
  }
}

/** Seconds each node's proxy is asked for before the tasks are read again. */
const HEALTH_ROUND_SECONDS = 2

/** A proxy service that exists must publish proxy-port on every node itself. */
function proxyServiceProblems(proxy: SwarmService, inputs: Inputs): string[] {
  const want = `${inputs.proxyPort}/host`
  if (proxy.published.includes(want)) return []
  return [
    `proxy-port: the proxy service ${proxy.name} publishes ${proxy.published.join(', ') || 'no port'}, not ${want}; ` +
      'use the same proxy-port for every service on a network, or another network'
  ]
}
