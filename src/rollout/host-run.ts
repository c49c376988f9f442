import { LostLockError } from '../host/guard.js'
import type { Host } from '../host/index.js'
import type { Launch } from '../host/launch.js'
import type { HostLock } from '../host/lock.js'
import type { Route } from '../host/nginx-config.js'
import { proxyName } from '../host/paths.js'
import { proxyReady, type ProxyServes } from '../host/proxy.js'
import type { RetireResult } from '../host/retire.js'
import { planRoute, type RoutePlan } from '../host/route.js'
import {
  nextState, resolveSituation, type Release, type ServiceContainer, type ServiceSnapshot, type ServiceState, type Situation
} from '../host/state.js'
import type { Survey } from '../host/survey.js'
import type { WorkerContainer } from '../host/workers.js'
import { planImage, sourceMessage, type ImagePlan } from '../image/plan.js'
import type { ImageSource } from '../image/runner.js'
import type { Inputs } from '../inputs.js'
import { stepLog, type Log } from '../report/log.js'
import { logChanges, type Phases } from '../report/phases.js'
import type { DeployReport, ReleaseStepReport, TlsReport, TransferReport } from '../report/report.js'
import { sendImage } from '../transfer/transfer.js'
import { appRunFlags, candidateWorkers, recordedWorkers, releaseSkipped, replicaNames, slotWeb, slotWorkers, webCommand } from './app.js'
import { CancelledError, untilCancelled } from './cancel.js'
import { envDrift, envFingerprint, keptReleases } from './releases.js'
import { codecFor, surveyRequest, type Checked } from './check.js'
import { releaseFailure } from './release-failure.js'
import { describe, judgeCanary, latencyLine, type CanaryVerdict } from './canary.js'
import { realClock, surveyHolds, type DeployDeps, type Session } from './session.js'
import { prepareTls, serviceTls } from './tls.js'

/**
 * The blue-green sequence on one host, in stages a rollout drives: prepare (state, image, proxy,
 * route), release (the release command), launch (candidate, health, workers), switchOver, then
 * finish (record, retire), or undo before the switch and revert after it. Only the idle slot
 * changes until the candidate has proven healthy, and only while this run holds the host's lock.
 */
export class HostRun {
  private survey!: Survey
  private snapshot!: ServiceSnapshot
  private situation!: Situation
  private plan!: ImagePlan
  private candidate!: Release
  private route?: RoutePlan
  private launched!: Launch
  private transfer!: TransferReport
  private healthAttempts = 0
  /** This run wrote the service's proxy config (nginx reloaded). */
  private wroteRoute = false
  /** The candidate's worker containers (none without workers). */
  private workers: WorkerContainer[] = []
  /** The candidate's web containers, one per replica. */
  private replicas: string[] = []
  /** An instant rollback: the idle slot's containers already run the target release. */
  private reuse = false
  /** The releases whose images stay on the host after this run. */
  private kept: Release[] = []
  private releaseStep?: ReleaseStepReport
  /** The proxy sends a share of clients to the candidate (canary): it must be drained if it goes back. */
  private canaryOn = false
  private canaryVerdict?: CanaryVerdict
  private tlsReport?: TlsReport

  private readonly host: Host
  private readonly lock: HostLock
  private readonly checked: Checked
  private readonly log: Log

  constructor(
    private readonly inputs: Inputs,
    private readonly deps: DeployDeps,
    private readonly phases: Phases,
    private readonly session: Session
  ) {
    this.host = session.host
    this.lock = session.lock
    this.checked = session.checked
    this.log = deps.log ?? stepLog
  }

  /** State, image, proxy, the idle slot's route and the certificate: nothing that clients see changes. */
  async prepare(): Promise<void> {
    await this.step('state', 'Read the live slot', () => this.readSituation())
    try {
      await this.step('transfer', 'Transfer the image', () => this.sendImage())
    } catch (error) {
      await this.routing?.catch(() => undefined) // undo must know whether the route was written
      throw error
    }
    await this.step('proxy', 'Make sure the proxy runs', () => this.ensureProxy())
    const routing = this.routing
    await this.step('route', 'Route the idle slot', () => (routing ? this.replay(routing) : this.prepareRoute((line) => this.log.info(line))))
    // After the route: its port-80 block answers the CA's HTTP-01 request for the service's names.
    if (this.inputs.tls.mode !== 'off') await this.step('tls', 'Obtain or check the TLS certificate', () => this.prepareTls())
  }

  /**
   * The release command, when there is one. A rollout runs it once, on its first host: `ranOn`
   * names that host on the others, which only record that it ran.
   */
  async release(ranOn?: { target: string; ran: boolean }): Promise<void> {
    if (!this.inputs.releaseCommand) return
    if (!ranOn) return this.step('release', 'Run the release command', () => this.runRelease())
    if (ranOn.ran) this.candidate.released = true
    this.log.info(`The release command ran on ${ranOn.target}, once for every host`)
  }

  /** Whether this run's release command ran (to tell the other hosts of a rollout). */
  get releaseRan(): boolean {
    return this.candidate?.released === true && this.releaseStep?.exitCode === 0
  }

  /** Where the image comes from: a save started ahead, or a branch of the rollout's one export. */
  private get ahead(): ImageSource | undefined {
    return this.session.ahead
  }

  get target(): string {
    return this.host.target
  }

  /** The candidate, healthy, and its workers, settled; not serving yet unless it switched in the same step. */
  async launch(): Promise<void> {
    await this.step('candidate', `Start ${this.candidate.container}`, () => this.startCandidate())
    await this.step('health', `Health-check ${this.candidate.container}`, () => this.checkHealth())
    if (this.workers.length) await this.step('workers', `Start ${this.workers.length} worker container(s)`, () => this.startWorkers())
  }

  async switchOver(): Promise<void> {
    if (this.canaried()) await this.step('canary', `Canary: ${this.inputs.canary}% of clients on ${this.candidate.container}`, () => this.runCanary())
    await this.step('switch', `Switch the proxy to ${this.candidate.slot}`, () => this.switchProxy())
  }

  /** A canary needs a live release to compare with; a rollback goes back at once. */
  private canaried(): boolean {
    return this.inputs.canary > 0 && !this.inputs.rollback && !this.reuse && this.situation.live !== undefined
  }

  /**
   * After the switch: the release recorded, then the old slot retired (unless cancelled). With
   * only the old web slot to retire, the record rides on the retire's remote step: a round trip
   * fewer, and the host still writes state.json before it stops anything.
   */
  async finish(): Promise<DeployReport> {
    const state = this.releaseState()
    const fuse = this.oldWorkers().length === 0 && !this.deps.signal?.aborted
    const web = fuse ? this.retireWeb(state) : undefined
    web?.retired.catch(() => undefined) // awaited in the retire phase
    await this.phases.run('record', 'Record the release', async () => {
      await (web ? web.recorded : this.host.writeState(state))
      this.log.info(recordedLine(state))
    })
    if (this.deps.signal?.aborted) throw this.cancelledAfterSwitch()
    const retired = await this.phases.run('retire', 'Retire the old slot', () =>
      untilCancelled(this.retire(state, web?.retired), this.deps.signal, () => this.cancelledAfterSwitch().message)
    )
    return this.report(state.previous, retired)
  }

  /** A phase before the switch: not started once the run is cancelled, and only while the lock holds. */
  private step(name: string, title: string, body: () => Promise<void>): Promise<void> {
    if (this.deps.signal?.aborted) throw new CancelledError('Cancelled')
    this.lock.assertHeld()
    return this.phases.run(name, title, body)
  }

  private async readSituation(): Promise<void> {
    const { inputs, checked } = this
    const found = await this.surveyUnderLock()
    const fresh = found !== checked.survey
    this.survey = found
    const snapshot = found.snapshot
    this.snapshot = snapshot
    this.situation = resolveSituation(snapshot)
    const { live, idleSlot, recovered } = this.situation
    if (recovered) this.log.warning('The host state disagreed with the proxy config (a run died mid-deploy); the proxy config wins')
    this.log.info(live ? `Live: ${live.slot} (${live.container}, ${live.image})` : `No live release of ${this.inputs.service} yet`)
    this.plan = fresh
      ? await planImage(inputs, this.host, { local: checked.local, onHost: found.image }, this.situation, snapshot.state)
      : checked.plan
    this.replicas = replicaNames(inputs.service, idleSlot, inputs.replicas)
    this.candidate = {
      slot: idleSlot,
      container: this.replicas[0],
      image: this.plan.ref,
      imageId: this.plan.image.id,
      appPort: this.plan.appPort,
      deployedAt: '',
      ...(inputs.replicas > 1 ? { replicas: inputs.replicas } : {}),
      ...envFingerprint(inputs.env)
    }
    const drift = this.plan.target ? envDrift(this.plan.target, inputs.env) : undefined
    if (drift) this.log.warning(`${drift}: check that the env fits the release you go back to`)
    this.workers = candidateWorkers(inputs, idleSlot)
    const idle = slotWeb(snapshot.containers, inputs.service, idleSlot)
    this.reuse = this.keptRunning(idle)
    if (this.reuse) return this.log.info(`${idle.map((c) => c.name).join(', ')} kept running with ${this.plan.ref}: the rollback is a switch`)
    // Containers in the idle slot are left over from a run that died, or kept for an instant
    // rollback that this deploy does not take; they serve nothing.
    if (idle.length) {
      this.log.info(`Removing ${idle.map((c) => c.name).join(', ')} left in the idle slot by an earlier run`)
      // A run that died during its canary left clients routed to them: back to the live slot first.
      await this.host.stopCanary({ network: inputs.network, service: inputs.service })
      await this.host.retire(this.retireSpec(idle.map((c) => c.name), this.situation.previous?.appPort ?? this.candidate.appPort), () => undefined)
    }
    const strayWorkers = slotWorkers(snapshot.containers, inputs.service, idleSlot).map((container) => container.name)
    if (strayWorkers.length) {
      this.log.info(`Removing ${strayWorkers.join(', ')} left in the idle slot by an earlier run`)
      await this.host.removeContainers(strayWorkers)
    }
  }

  /**
   * A rollback whose target still runs in the idle slot (keep-previous: running), every replica
   * up with its image: no start, only the health check and the switch.
   */
  private keptRunning(idle: ServiceContainer[]): boolean {
    if (!this.inputs.rollback || this.plan.source !== 'rollback') return false
    const running = idle.filter((container) => container.state === 'running' && container.imageId === this.plan.image.id)
    return running.length === this.inputs.replicas && this.replicas.every((name) => running.some((container) => container.name === name))
  }

  /** The check's survey when no other lock came between (read again otherwise). */
  private async surveyUnderLock(): Promise<Survey> {
    const { inputs, checked } = this
    return surveyHolds(this.session) ? checked.survey : this.host.survey(surveyRequest(inputs, checked.proxy))
  }

  private async sendImage(): Promise<void> {
    const { plan, inputs } = this
    const base = {
      sentBytes: 0, archiveBytes: 0, imageBytes: plan.image.sizeBytes, skippedLayers: 0,
      totalLayers: plan.image.diffIds.length, durationMs: 0
    }
    if (plan.source !== 'sent') {
      this.ahead?.stop() // another deploy sent it meanwhile: a shared export must not wait on this host
      this.log.info(sourceMessage(plan))
      this.transfer = { ...base, source: plan.source, skippedLayers: base.totalLayers }
      return
    }
    const codec = codecFor(inputs, this.host)
    const sending = sendImage(this.host, plan.ref, plan.image, codec, {
      spoolDir: process.env.RUNNER_TEMP || undefined,
      save: (ref) => this.ahead?.take(ref) ?? this.deps.runner.save(ref),
      layerSizes: (ref) => this.deps.runner.layerSizes(ref),
      log: (line) => this.log.info(line),
      signal: this.deps.signal,
      store: this.session.store,
      listed: this.survey.layers
    })
    // Queued on the shell after the layer list when the transfer lists the layers itself (the survey usually brought them).
    this.routing = this.routeWhileSending()
    const result = await sending
    this.transfer = { ...base, ...result, source: result.tagged ? 'tagged' : 'sent', codec: codec.codec }
    // From here on the host's name for the image (the containerd store has its own IDs).
    this.plan = { ...plan, image: result.loaded }
    this.candidate.imageId = result.loaded.id
  }

  private proxyReady?: Promise<string[]>
  /** The idle slot's route, made while the image streams: the lines it logged. */
  private routing?: Promise<string[]>

  private startProxy(): Promise<string[]> {
    // Read under the lock: a running proxy of this image with this version's shared config needs nothing.
    const ready = proxyReady(this.survey.proxy, this.checked.proxy)
    this.proxyReady ??= ready ? Promise.resolve(['proxy running']) : this.host.ensureProxy(this.checked.proxy)
    this.proxyReady.catch(() => undefined) // awaited in the proxy phase
    return this.proxyReady
  }

  private async ensureProxy(): Promise<void> {
    this.log.info((await this.startProxy()).join(', '))
  }

  /**
   * An image that crosses the link: the proxy and the idle slot's route are made ready on their
   * own channels meanwhile (neither needs the image; a cold deploy's route reloads nginx). Its
   * lines wait for the route phase, so each phase's log group keeps its own lines.
   */
  private routeWhileSending(): Promise<string[]> {
    const lines: string[] = []
    const routed = this.startProxy().then(() => this.prepareRoute((line) => lines.push(line))).then(() => lines)
    routed.catch(() => undefined) // awaited in the route phase, or before undo
    return routed
  }

  private async replay(routed: Promise<string[]>): Promise<void> {
    for (const line of await routed) this.log.info(line)
  }

  /** The proxy config must route the idle slot before the candidate starts there. */
  private async prepareRoute(info: (line: string) => void): Promise<void> {
    const { inputs, candidate, snapshot } = this
    let addresses = snapshot.addresses ?? {}
    const needed = (addresses.blue?.length ?? 0) < inputs.replicas || (addresses.green?.length ?? 0) < inputs.replicas
    if (needed && this.survey.proxy.network.mode !== 'names') {
      addresses = await this.host.allocateAddresses(inputs.network, inputs.service, inputs.replicas)
    }
    const route = planRoute(
      {
        service: inputs.service, network: inputs.network, serverNames: inputs.serverNames, replicas: inputs.replicas,
        websocketTimeout: inputs.websocketTimeout, accessLog: inputs.accessLog, slot: candidate.slot, container: candidate.container, appPort: candidate.appPort,
        tls: serviceTls(inputs)
      },
      snapshot,
      addresses
    )
    if (inputs.replicas > 1 && route.addresses.length === 0) {
      throw new Error(`replicas: ${inputs.replicas} containers per slot need a network the action created (pinned addresses); ${inputs.network} was not, so its slots are reached by name`)
    }
    this.route = route
    const where = route.addresses.length ? `pinned address ${route.addresses.join(', ')}` : 'its container name (Docker DNS: not a network the action created)'
    info(`${this.replicas.join(', ')} will be reached at ${where}`)
    if (!route.write) return info('The proxy config already routes both slots: the switch needs no nginx reload')
    await this.host.writeRoute(inputs.network, inputs.service, route.conf, snapshot.legacy)
    this.wroteRoute = true
    info(snapshot.confDigest ? 'The proxy config changed (port, server names or format): nginx reloaded gracefully' : 'Added the proxy config for the service: nginx reloaded gracefully')
  }

  /** HTTPS: the certificate verified and installed, and the proxy publishing its port (rollout/tls.ts). */
  private async prepareTls(): Promise<void> {
    const { inputs, host } = this
    const log = (line: string): void => this.log.info(line)
    const warn = (line: string): void => this.log.warning(line)
    const spoolDir = process.env.RUNNER_TEMP || undefined
    const codec = () => codecFor(inputs, host)
    this.tlsReport = await prepareTls({ inputs, host, proxy: this.survey.proxy, codec, log, warn, spoolDir, signal: this.deps.signal })
  }

  /**
   * The release command (a migration) in a one-off container of the candidate image, with its
   * env, runtime and network, before the candidate starts: a failure leaves the live slot as is.
   */
  private async runRelease(): Promise<void> {
    const { inputs, candidate, plan } = this
    const skipped = releaseSkipped(inputs, this.snapshot.state, candidate.imageId)
    const command = inputs.releaseCommand ?? []
    if (skipped) {
      this.releaseStep = { command, skipped }
      // An image whose release command ran before stays marked so, for the next re-run.
      if (skipped.startsWith('this image was released')) candidate.released = true
      return this.log.info(`The release command is skipped: ${skipped}`)
    }
    const started = Date.now()
    const result = await this.host.runRelease(
      {
        name: `${inputs.service}-release`, network: inputs.network, service: inputs.service, image: plan.ref, imageId: candidate.imageId,
        timeoutSeconds: inputs.releaseTimeout, runFlags: appRunFlags(inputs), command
      },
      inputs.env,
      (line) => this.log.info(line)
    )
    this.releaseStep = { command, exitCode: result.exitCode, durationMs: Date.now() - started }
    const failure = releaseFailure(result, inputs.releaseTimeout)
    if (failure) throw new Error(failure)
    candidate.released = true
    this.log.info(`The release command exited with code 0 in ${((Date.now() - started) / 1000).toFixed(1)} s`)
  }

  private async startCandidate(): Promise<void> {
    const { candidate, inputs } = this
    const health = { appPort: candidate.appPort, path: inputs.healthPath, timeoutSeconds: inputs.healthTimeout }
    // Healthy, it goes live in the same remote step (the host checks that the lock is still
    // ours), unless workers must start and settle first.
    const sw = { route: this.liveRoute(), hold: this.workers.length > 0 || this.canaried() }
    this.launched = this.host.launchCandidate(this.candidateSpec(), inputs.env, health, sw)
    // A cancel during the health check tells the host's loop to stop; removed once switched.
    this.deps.signal?.addEventListener('abort', this.cancelLaunch, { once: true })
    await this.launched.started
  }

  private async checkHealth(): Promise<void> {
    const { candidate } = this
    const result = await this.launched.health(logChanges((line) => this.log.info(line)))
    this.healthAttempts = result.attempts
    if (!result.healthy) throw new Error(`Health check of ${candidate.container} failed: ${result.reason}`)
  }

  private readonly cancelLaunch = (): void => void this.host.cancel().catch(() => undefined)

  /** Once the web is healthy: the workers start and must keep running for worker-settle seconds. */
  private async startWorkers(): Promise<void> {
    const { inputs, candidate, plan } = this
    await this.launched.switched() // the held launch step has ended
    const spec = {
      network: inputs.network, service: inputs.service, slot: candidate.slot, image: plan.ref, imageId: candidate.imageId,
      settleSeconds: inputs.workerSettle, runFlags: appRunFlags(inputs)
    }
    const started = await this.host.startWorkers(spec, this.workers, inputs.env, (line) => {
      if (line.startsWith('STARTED ')) this.log.info(`Started ${line.slice(8)}`)
    })
    if (!started.ok) {
      const logs = started.logs.length ? `\nLast log lines of ${started.container}:\n${started.logs.join('\n')}` : ''
      throw new Error(`Worker ${started.container} ${started.reason} within worker-settle (${inputs.workerSettle} s): the release goes back${logs}`)
    }
    candidate.workers = recordedWorkers(this.workers)
    this.log.info(`${this.workers.map((worker) => worker.container).join(', ')} kept running for ${inputs.workerSettle} s`)
  }

  /**
   * The candidate gets inputs.canary percent of clients (sticky, by the proxy's cookie) next to
   * the live slot, and is judged every few seconds by the proxy's counts: sent back at once when
   * its 5xx share is too high, promoted when canary-duration is over.
   */
  private async runCanary(): Promise<void> {
    const { inputs, candidate } = this
    const live = this.situation.live!
    const target = { network: inputs.network, service: inputs.service }
    await this.launched.switched() // the held launch step has ended
    await this.host.startCanary(target, candidate.slot, inputs.canary)
    this.canaryOn = true
    this.log.info(`${inputs.canary}% of clients now reach ${candidate.container}, the rest ${live.container}; watching for ${inputs.canaryDuration} s`)
    const rules = { percent: inputs.canary, durationSeconds: inputs.canaryDuration, max5xx: inputs.canaryMax5xx, minRequests: inputs.canaryMinRequests }
    const clock = this.deps.clock ?? realClock
    const ends = clock.now() + inputs.canaryDuration * 1000
    for (;;) {
      await untilCancelled(clock.sleep(Math.max(0, Math.min(CANARY_POLL_MS, ends - clock.now()))), this.deps.signal, () => 'Cancelled during the canary')
      this.lock.assertHeld()
      const counts = await this.host.readCanary(target)
      const verdict = judgeCanary(counts, { candidate: candidate.slot, live: live.slot }, { candidate: candidate.container, live: live.container }, rules, clock.now() >= ends)
      this.canaryVerdict = verdict
      this.log.info(`${describe(verdict.candidate)}, ${latencyLine(verdict.candidate)}; ${describe(verdict.live)}, ${latencyLine(verdict.live)}`)
      if (verdict.outcome === 'revert') {
        this.log.info(`Sending the canary back: every client returns to ${live.container}`)
        throw new Error(`Canary sent back: ${verdict.reason}`)
      }
      if (verdict.outcome === 'promote') return this.log.info(`Canary passed: promoting ${candidate.container} to every client`)
    }
  }

  private async switchProxy(): Promise<void> {
    const also = this.workers.map((worker) => worker.container)
    const switching = also.length || this.canaryOn
      ? this.host.switchSlot(this.candidateSpec(), { route: this.liveRoute() }, this.inputs.healthPath, also)
      : this.launched.switched()
    const switched = await switching.finally(() => this.deps.signal?.removeEventListener('abort', this.cancelLaunch))
    if (!switched.ok) throw new Error(`${switched.message}${switched.switchedBack ? '; switched back' : ''}`)
    this.log.info(`The proxy now serves ${this.candidate.container}, without a reload`)
  }

  /**
   * Before the switch, a failure takes the candidate (and a first deploy's config) away, brings
   * the proxy back if it stopped, and says what it serves now, as asked of the proxy itself.
   * A run that lost its lock touches nothing: another deploy may own the host.
   */
  async undo(error: Error): Promise<Error> {
    this.deps.signal?.removeEventListener('abort', this.cancelLaunch)
    if (error instanceof LostLockError) {
      const left = this.candidate ? ` ${this.candidate.container} may be left for the next deploy to remove.` : ''
      return new Error(`${error.message}.${left}`)
    }
    const cancelled = error instanceof CancelledError || this.deps.signal?.aborted
    const cleanup: string[] = []
    if (this.canaryOn) await this.endCanary(cleanup)
    else if (this.candidate && !this.reuse) {
      const names = [...this.replicas, ...this.workers.map((worker) => worker.container)]
      const what = names.length > 1 ? `the candidate ${this.candidate.container} and its workers were` : `the candidate ${this.candidate.container} was`
      await this.host.removeContainers(names).then(
        () => cleanup.push(`${what} removed`),
        (failure: Error) => cleanup.push(`the candidate ${this.candidate.container} could not be removed (${failure.message}); the next deploy removes it`)
      )
    }
    if (this.wroteRoute && !this.situation?.live) await this.host.removeRoute(this.inputs.network, this.inputs.service).catch(() => undefined)
    if (cancelled) return new CancelledError(`Cancelled before the switch: ${this.untouched()}${cleanup.length ? `; ${cleanup.join('; ')}` : ''}.`)
    const serving = this.situation ? await this.whatServes() : 'nothing on the host changed'
    return new Error(`${error.message}\n${serving}${cleanup.length ? `; ${cleanup.join('; ')}` : ''}.`)
  }

  /**
   * A canary that goes back: every client returns to the live slot at once, and the candidate
   * is drained like an old slot (the requests its clients have in flight finish) before it goes.
   */
  private async endCanary(cleanup: string[]): Promise<void> {
    const target = { network: this.inputs.network, service: this.inputs.service }
    try {
      await this.host.stopCanary(target)
    } catch (failure) {
      cleanup.push(`the canary could not be stopped (${(failure as Error).message}): ${this.candidate.container} may still serve some clients`)
      return
    }
    this.log.info(`The canary is off: every request goes to ${this.situation.live?.container} again; draining ${this.candidate.container}`)
    const names = [...this.replicas, ...this.workers.map((worker) => worker.container)]
    const retired = await this.host.retire(this.retireSpec(this.replicas, this.candidate.appPort), () => undefined).then(
      () => true,
      () => false
    )
    if (this.workers.length) await this.host.removeContainers(this.workers.map((worker) => worker.container)).catch(() => undefined)
    cleanup.push(
      retired
        ? `every client is back on ${this.situation.live?.container}; ${names.join(', ')} drained and removed`
        : `every client is back on ${this.situation.live?.container}; ${this.candidate.container} could not be removed, the next deploy removes it`
    )
  }

  /**
   * A cancel leaves no time to ask the proxy (GitHub kills the run 10 s after it), and the
   * symlink was never moved: what was live still is.
   */
  private untouched(): string {
    const live = this.situation?.live
    if (!live) return `nothing of ${this.inputs.service} was live, and the proxy was not changed`
    return `the proxy was not switched, ${live.container} (${live.image}) still serves on port ${this.inputs.proxyPort}`
  }

  /**
   * After the switch, before finish(): the old slot (still running, not retired) takes the
   * traffic back, and the candidate and its workers go. A first deploy unswitches to nothing.
   * Returns what the host serves now, for the rollout's table.
   */
  async revert(): Promise<string> {
    const old = this.situation.live
    const names = [...this.replicas, ...this.workers.map((worker) => worker.container)]
    if (old) {
      const route = this.snapshot.route ?? { ...old, service: this.inputs.service, serverNames: this.inputs.serverNames }
      const spec = { ...this.candidateSpec(), name: old.container, slot: old.slot, image: old.image, imageId: old.imageId }
      const oldWorkers = slotWorkers(this.snapshot.containers, this.inputs.service, old.slot).map((container) => container.name)
      const oldWeb = slotWeb(this.snapshot.containers, this.inputs.service, old.slot).map((container) => container.name)
      spec.names = oldWeb.length ? oldWeb : [old.container]
      // Asked on its own health path: this release's may be new.
      const back = await this.host.switchSlot(spec, { route }, route.healthPath ?? '/', oldWorkers)
      if (!back.ok) return `switching back failed (${back.message}); ${this.candidate.container} may still serve`
    } else {
      await this.host.removeRoute(this.inputs.network, this.inputs.service, true)
    }
    await this.host.removeContainers(names).catch(() => undefined)
    return old ? `back on the previous release: ${old.image}` : 'back to nothing live'
  }

  /** What the proxy serves for this service after a failure, asked of the proxy. */
  private async whatServes(): Promise<string> {
    const { inputs } = this
    const live = this.situation.live
    const port = `port ${inputs.proxyPort}`
    let seen: ProxyServes
    try {
      seen = await this.host.proxyServes({ network: inputs.network, port: inputs.proxyPort }, { serverNames: inputs.serverNames }, inputs.healthPath)
    } catch (error) {
      return `Could not ask the proxy what it serves: ${(error as Error).message}`
    }
    const proxy = proxyName(inputs.network)
    const restarted = seen.restarted ? `The proxy ${proxy} had stopped (${seen.status}) and was started again. ` : ''
    if (seen.status === 'missing') return `The proxy ${proxy} is gone: ${port} serves nothing until the next deploy recreates it`
    const answer = seen.answer
    if (seen.status === 'unknown' && (!answer || answer.status === 0)) {
      return `The host's Docker engine does not answer, and neither does ${port}`
    }
    if (!answer || answer.status === 0) return `${restarted}The proxy ${proxy} does not answer on ${port} (${seen.said})`
    if (live && answer.slot === live.slot) return `${restarted}The host is as before: ${live.container} (${live.image}) still serves on ${port}`
    if (!live && answer.slot === undefined) {
      return `${restarted}The host is as before: nothing of ${inputs.service} was live, and the proxy still routes nothing to it`
    }
    return `${restarted}The proxy answers HTTP ${answer.status} from slot ${answer.slot ?? 'none'} on ${port}`
  }

  private cancelledAfterSwitch(): CancelledError {
    const old = this.situation.live
    const left = old ? `; ${old.container} keeps running until the next deploy retires it` : ''
    return new CancelledError(`Cancelled after the switch: ${this.candidate.container} (${this.candidate.image}) is live and recorded${left}`)
  }

  private releaseState(): ServiceState {
    this.candidate.deployedAt = new Date().toISOString()
    return nextState(this.snapshot.state, this.situation, this.candidate)
  }

  private oldWorkers(): string[] {
    const old = this.situation.live
    return old ? slotWorkers(this.snapshot.containers, this.inputs.service, old.slot).map((container) => container.name) : []
  }

  private oldWeb(): string[] {
    const old = this.situation.live
    if (!old) return []
    const web = slotWeb(this.snapshot.containers, this.inputs.service, old.slot).map((container) => container.name)
    if (!web.length && old.container !== this.candidate.container) web.push(old.container)
    return web
  }

  /** The old web slot's drain and stop, started; with `state`, that step records it first. */
  private retireWeb(state?: ServiceState): { recorded: Promise<void>; retired: Promise<RetireResult> } | undefined {
    const old = this.situation.live
    const names = this.oldWeb()
    if (!old || !names.length) return undefined
    let onRecorded!: () => void
    const written = new Promise<void>((resolve) => (onRecorded = resolve))
    const record = state && { state, onRecorded }
    const spec = { ...this.retireSpec(names, old.appPort, this.inputs.keepPrevious === 'running'), record }
    const retired = this.host.retire(spec, (count) => this.log.info(`Waiting for ${count} connection(s) to ${names.join(', ')} to finish`))
    // A step that fails before RECORDED fails the record phase; once RECORDED, the retire phase's.
    return { recorded: Promise.race([written, retired.then(() => undefined)]), retired }
  }

  private async retire(state: ServiceState, webRetired?: Promise<RetireResult>): Promise<{ open: number; pruned: string[] }> {
    let open = 0
    // The old slot's workers go as soon as the new ones run: SIGTERM, then their stop timeout.
    const oldWorkers = this.oldWorkers()
    if (oldWorkers.length) {
      await this.host.stopContainers(oldWorkers, (this.inputs.runtime.stopTimeout ?? 10) + 30)
      this.log.info(`Stopped and removed ${oldWorkers.join(', ')}`)
    }
    const oldWeb = this.oldWeb()
    const retired = webRetired ?? this.retireWeb()?.retired
    if (retired) {
      open = (await retired).openConnections
      if (open > 0) this.log.warning(`drain-timeout reached with ${open} connection(s) to ${oldWeb.join(', ')} still open`)
      const keep = this.inputs.keepPrevious === 'running'
      this.log.info(keep ? `${oldWeb.join(', ')} drained and kept running (keep-previous: running): a rollback is a switch` : `Stopped and removed ${oldWeb.join(', ')}`)
    }
    return { open, pruned: await this.prune(state) }
  }

  /**
   * Keeps keep-releases images (the live one and the ones before it, and always the previous):
   * older recorded releases give theirs back, unless another service on the host keeps or runs
   * the same image (the host checks: scripts/prune-images.sh).
   */
  private async prune(state: ServiceState): Promise<string[]> {
    const kept = [...keptReleases(state, this.inputs.keepReleases), state.previous].filter((release) => release !== undefined)
    const keep = new Set(kept.flatMap((release) => [release.imageId, release.image]))
    const refs = state.history
      .filter((release) => !keep.has(release.imageId) && !keep.has(release.image))
      .map((release) => release.image)
    const pruned = await this.host.pruneImages([...new Set(refs)])
    if (pruned.length) this.log.info(`Removed images of older releases: ${pruned.join(', ')}`)
    this.kept = keptReleases(state, this.inputs.keepReleases)
    return pruned
  }

  /** The route the candidate's slot gets, recorded on the host as it goes live. */
  private liveRoute(): Route {
    return {
      service: this.inputs.service,
      slot: this.candidate.slot,
      container: this.candidate.container,
      appPort: this.candidate.appPort,
      image: this.candidate.image,
      imageId: this.candidate.imageId,
      serverNames: this.inputs.serverNames,
      targets: this.route?.targets,
      healthPath: this.inputs.healthPath
    }
  }

  private candidateSpec() {
    return {
      name: this.candidate.container,
      network: this.inputs.network,
      service: this.inputs.service,
      slot: this.candidate.slot,
      image: this.candidate.image,
      imageId: this.candidate.imageId,
      names: this.replicas,
      addresses: this.route?.addresses,
      reuse: this.reuse,
      runFlags: appRunFlags(this.inputs),
      command: webCommand(this.inputs)
    }
  }

  private retireSpec(containers: string[], appPort: number, keep = false) {
    return {
      containers, network: this.inputs.network, appPort, drainTimeoutSeconds: this.inputs.drainTimeout,
      stopTimeoutSeconds: this.inputs.runtime.stopTimeout, keep
    }
  }

  private report(previous: Release | undefined, retired: { open: number; pruned: string[] }): DeployReport {
    const { inputs, candidate } = this
    return {
      service: inputs.service,
      target: this.host.target,
      network: inputs.network,
      proxyPort: inputs.proxyPort,
      serverNames: inputs.serverNames,
      slot: candidate.slot,
      container: candidate.container,
      image: candidate.image,
      imageId: candidate.imageId,
      appPort: candidate.appPort,
      replaced: this.situation.live,
      previous,
      rollback: inputs.rollback,
      recovered: this.situation.recovered,
      transfer: this.transfer,
      healthAttempts: this.healthAttempts,
      drainOpenConnections: retired.open,
      pruned: retired.pruned,
      reloaded: this.wroteRoute,
      releaseStep: this.releaseStep,
      kept: this.kept,
      keepPrevious: this.inputs.keepPrevious,
      instant: this.reuse,
      canary: this.canaryVerdict && { percent: this.inputs.canary, durationSeconds: this.inputs.canaryDuration, max5xx: this.inputs.canaryMax5xx, ...this.canaryVerdict },
      workers: this.workers.map((worker) => worker.container),
      tls: this.tlsReport,
      phases: this.phases.times
    }
  }
}

function recordedLine(state: ServiceState): string {
  const previous = state.previous ? `; previous: ${state.previous.slot} (${state.previous.image})` : ''
  return `Recorded on the host: live ${state.live?.slot} (${state.live?.image})${previous}`
}

/** How often the proxy's counts are read during a canary. */
const CANARY_POLL_MS = 5000
