import * as core from '@actions/core'
import type { Host } from '../host/index.js'
import type { Launch } from '../host/launch.js'
import type { HostLock } from '../host/lock.js'
import type { Route } from '../host/nginx-config.js'
import { containerName } from '../host/paths.js'
import {
  nextState, resolveSituation, type Release, type ServiceSnapshot, type ServiceState, type Situation
} from '../host/state.js'
import type { Inputs } from '../inputs.js'
import { check, codecFor, surveyRequest, type Checked } from './check.js'
import { logChanges, Phases } from '../report/phases.js'
import type { DeployReport, TransferReport } from '../report/report.js'
import { planImage, sourceMessage, type ImagePlan, type RunnerDocker } from '../image/plan.js'
import { SaveAhead } from '../image/runner.js'
import type { Survey } from '../host/survey.js'
import { sendImage } from '../transfer/transfer.js'
import { connectionLost } from '../ssh/lost.js'

export interface DeployDeps {
  connect: (inputs: Inputs) => Promise<Host>
  runner: RunnerDocker
  /** Who holds the lock, shown to a deploy that waits for it. */
  holder: string
  /** Where the run's phase times go; main.ts keeps it to name the phase of a crash. */
  phases?: Phases
}

/** The blue-green sequence. Only the idle slot changes until the candidate has proven healthy. */
export async function deploy(inputs: Inputs, deps: DeployDeps): Promise<DeployReport> {
  const phases = deps.phases ?? new Phases()
  const host = await phases.run('connect', `Connect to ${inputs.host}:${inputs.port}`, () => deps.connect(inputs))
  try {
    // The lock's channel opens while the host is checked; the lock is taken only after.
    const pending = host.openLock({
      service: inputs.service,
      timeoutSeconds: inputs.lockTimeout,
      holder: deps.holder,
      onWait: (holder) => core.info(`Another deploy of ${inputs.service} holds the lock: ${holder}; waiting`),
      onSilent: (seconds) =>
        core.info(`No answer from the host's lock session after ${seconds} s (a slow login shell on the host?); still waiting`)
    })
    let checked: Checked
    let lock: HostLock
    let ahead: SaveAhead | undefined
    try {
      checked = await phases.run('check', 'Check the host and the image', () => check(inputs, host, deps.runner))
      // The host lacks the image: docker save's export, which comes before its first byte,
      // runs while the lock is taken.
      if (checked.plan.source === 'sent') ahead = new SaveAhead(checked.plan.ref, (ref) => deps.runner.save(ref))
      lock = await phases.run('lock', `Lock ${inputs.service} on the host`, () => pending.acquire())
    } catch (error) {
      ahead?.stop()
      pending.abandon()
      throw error
    }
    try {
      return await new LockedDeploy(inputs, host, deps, phases, lock, checked, ahead).run()
    } finally {
      ahead?.stop()
      await lock.release()
    }
  } catch (error) {
    // Each step that waited on a lost connection fails in its own words; the run says what happened.
    const lost = host.lost()
    throw lost ? connectionLost(host.target, lost, phases.current) : error
  } finally {
    host.close()
  }
}

class LockedDeploy {
  private survey!: Survey
  private snapshot!: ServiceSnapshot
  private situation!: Situation
  private plan!: ImagePlan
  private candidate!: Release
  private launched!: Launch
  private transfer!: TransferReport
  private healthAttempts = 0

  constructor(
    private readonly inputs: Inputs,
    private readonly host: Host,
    private readonly deps: DeployDeps,
    private readonly phases: Phases,
    private readonly lock: HostLock,
    private readonly checked: Checked,
    private readonly ahead?: SaveAhead
  ) {}

  async run(): Promise<DeployReport> {
    await this.phases.run('state', 'Read the live slot', () => this.readSituation())
    await this.phases.run('transfer', 'Transfer the image', () => this.sendImage())
    await this.phases.run('proxy', 'Make sure the proxy runs', () => this.ensureProxy())
    await this.phases.run('candidate', `Start ${this.candidate.container}`, () => this.startCandidate())
    await this.phases.run('health', `Health-check ${this.candidate.container}`, () => this.checkHealth())
    await this.phases.run('switch', `Switch the proxy to ${this.candidate.slot}`, () => this.switchProxy())
    const state = await this.phases.run('record', 'Record the release', () => this.record())
    const retired = await this.phases.run('retire', 'Retire the old slot', () => this.retire(state))
    return this.report(state.previous, retired)
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
    if (recovered) core.warning('The host state disagreed with the proxy config (a run died mid-deploy); the proxy config wins')
    core.info(live ? `Live: ${live.slot} (${live.container}, ${live.image})` : `No live release of ${this.inputs.service} yet`)
    this.plan = fresh
      ? await planImage(inputs, this.host, { local: checked.local, onHost: found.image }, this.situation)
      : checked.plan
    this.candidate = {
      slot: idleSlot,
      container: containerName(this.inputs.service, idleSlot),
      image: this.plan.ref,
      imageId: this.plan.image.id,
      appPort: this.plan.appPort,
      deployedAt: ''
    }
    // A container in the idle slot is left over from a run that died; it serves nothing.
    const stray = snapshot.containers.find((container) => container.name === this.candidate.container)
    if (stray) {
      core.info(`Removing ${stray.name} left in the idle slot by an earlier run`)
      await this.host.retire(this.retireSpec(stray.name), () => undefined)
    }
  }

  /** The check's survey still holds when this lock is the very next one taken after it. */
  private async surveyUnderLock(): Promise<Survey> {
    const { inputs, checked } = this
    if (checked.survey.lockGeneration !== undefined && this.lock.generation === checked.survey.lockGeneration + 1) {
      return checked.survey
    }
    return this.host.survey(surveyRequest(inputs, checked.proxy))
  }

  private async sendImage(): Promise<void> {
    const { plan, inputs } = this
    const base = {
      sentBytes: 0, archiveBytes: 0, imageBytes: plan.image.sizeBytes, skippedLayers: 0,
      totalLayers: plan.image.diffIds.length, durationMs: 0
    }
    if (plan.source !== 'sent') {
      core.info(sourceMessage(plan))
      this.transfer = { ...base, source: plan.source, skippedLayers: base.totalLayers }
      return
    }
    const codec = codecFor(inputs, this.host)
    const sending = sendImage(this.host, plan.ref, plan.image, codec, {
      spoolDir: process.env.RUNNER_TEMP || undefined,
      save: (ref) => this.ahead?.take(ref) ?? this.deps.runner.save(ref),
      layerSizes: (ref) => this.deps.runner.layerSizes(ref),
      log: (line) => core.info(line)
    })
    // The proxy is made ready while the image streams on its own channel (queued after the
    // layer list, which the stream waits for).
    this.startProxy()
    const result = await sending.catch((error: Error) => {
      throw new Error(`${error.message}. ${this.hostUnchanged()}`)
    })
    this.transfer = { ...base, ...result, source: result.tagged ? 'tagged' : 'sent', codec: codec.codec }
    // From here on the host's name for the image (the containerd store has its own IDs).
    this.plan = { ...plan, image: result.loaded }
    this.candidate.imageId = result.loaded.id
  }

  private proxyReady?: Promise<string[]>

  private startProxy(): Promise<string[]> {
    // Read under the lock: a running proxy with this version's shared config needs nothing.
    const seen = this.survey.proxy
    const ready = seen.status === 'running' && seen.commonCurrent
    this.proxyReady ??= ready ? Promise.resolve(['proxy running']) : this.host.ensureProxy(this.checked.proxy)
    this.proxyReady.catch(() => undefined) // awaited in the proxy phase
    return this.proxyReady
  }

  private async ensureProxy(): Promise<void> {
    await this.guard(async () => core.info((await this.startProxy()).join(', ')))
  }

  private async startCandidate(): Promise<void> {
    this.lock.assertHeld()
    const { candidate, inputs } = this
    const health = { appPort: candidate.appPort, path: inputs.healthPath, timeoutSeconds: inputs.healthTimeout }
    // Healthy, it goes live in the same remote step; the host checks that the lock is still ours.
    const sw = { route: this.route(), lockGeneration: this.lock.generation }
    this.launched = this.host.launchCandidate(this.candidateSpec(), inputs.env, health, sw)
    await this.guard(() => this.launched.started)
  }

  private async checkHealth(): Promise<void> {
    const { candidate } = this
    const result = await this.launched.health(logChanges((line) => core.info(line)))
    this.healthAttempts = result.attempts
    if (result.healthy) return
    await this.host.removeContainer(candidate.container)
    throw new Error(`Health check of ${candidate.container} failed: ${result.reason}\n${this.hostUnchanged()}`)
  }

  private async switchProxy(): Promise<void> {
    const { inputs, candidate } = this
    const switched = await this.launched.switched()
    if (!switched.ok) {
      // A proxy that died mid-deploy fails the switch back too; the candidate goes all the same.
      const back = switched.reloaded
        ? await this.host.restoreRoute(inputs.network, inputs.service).then(
            () => '; switched back',
            (error: Error) => `; switching back failed too (${error.message}), the previous config is on disk`
          )
        : ''
      await this.host.removeContainer(candidate.container).catch(() => undefined)
      throw new Error(`${switched.message}${back}.\n${this.hostUnchanged()}`)
    }
    core.info(`The proxy now serves ${candidate.container}`)
  }

  private async record(): Promise<ServiceState> {
    this.candidate.deployedAt = new Date().toISOString()
    const state = nextState(this.snapshot.state, this.situation, this.candidate)
    await this.host.writeState(state)
    const previous = state.previous ? `; previous: ${state.previous.slot} (${state.previous.image})` : ''
    core.info(`Recorded on the host: live ${state.live?.slot} (${state.live?.image})${previous}`)
    return state
  }

  private async retire(state: ServiceState): Promise<{ open: number; pruned: string[] }> {
    const old = this.situation.live
    let open = 0
    if (old && old.container !== this.candidate.container) {
      const result = await this.host.retire(this.retireSpec(old.container), (count) =>
        core.info(`Waiting for ${count} connection(s) to ${old.container} to finish`)
      )
      open = result.openConnections
      if (open > 0) core.warning(`drain-timeout reached with ${open} connection(s) to ${old.container} still open`)
      core.info(`Stopped and removed ${old.container}`)
    }
    return { open, pruned: await this.prune(state) }
  }

  /** Keeps the live and previous releases' images; older recorded releases give theirs back. */
  private async prune(state: ServiceState): Promise<string[]> {
    const kept = [state.live, state.previous].filter((release) => release !== undefined)
    const keep = new Set(kept.flatMap((release) => [release.imageId, release.image]))
    const refs = state.history
      .filter((release) => !keep.has(release.imageId) && !keep.has(release.image))
      .map((release) => release.image)
    const pruned = await this.host.pruneImages([...new Set(refs)])
    if (pruned.length) core.info(`Removed images of older releases: ${pruned.join(', ')}`)
    return pruned
  }

  /** Runs a step that changes the idle slot; on failure the candidate goes, the live slot stays. */
  private async guard(step: () => Promise<void>): Promise<void> {
    try {
      await step()
    } catch (error) {
      await this.host.removeContainer(this.candidate.container).catch(() => undefined)
      throw new Error(`${(error as Error).message}\n${this.hostUnchanged()}`)
    }
  }

  private hostUnchanged(): string {
    const live = this.situation?.live
    const proxy = `port ${this.inputs.proxyPort}`
    const kept = live
      ? `${live.container} (${live.image}) still serves on ${proxy}`
      : `nothing of ${this.inputs.service} was live, and the proxy still routes nothing to it`
    return `The host is as before: ${kept}; the candidate ${this.candidate?.container ?? ''} was removed.`
  }

  private route(): Route {
    return {
      service: this.inputs.service,
      slot: this.candidate.slot,
      container: this.candidate.container,
      appPort: this.candidate.appPort,
      image: this.candidate.image,
      imageId: this.candidate.imageId,
      serverNames: this.inputs.serverNames
    }
  }

  private candidateSpec() {
    return {
      name: this.candidate.container,
      network: this.inputs.network,
      service: this.inputs.service,
      slot: this.candidate.slot,
      image: this.candidate.image,
      imageId: this.candidate.imageId
    }
  }

  private retireSpec(container: string) {
    const port = this.situation.live?.container === container ? this.situation.live.appPort : this.candidate.appPort
    return { container, network: this.inputs.network, appPort: port, drainTimeoutSeconds: this.inputs.drainTimeout }
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
      phases: this.phases.times
    }
  }
}
