import type { Readable } from 'node:stream'
import type { ImageInfo } from '../image/info.js'
import type { EnvVar } from '../inputs.js'
import { bashCommand, type Ssh } from '../ssh/connection.js'
import type { Codec } from '../transfer/compression.js'
import { guardedRunner, type LockGuard } from './guard.js'
import type { HealthSpec } from './health.js'
import { hostLayers, inspectHostImage, loadCommand, loadImage, pruneImages, tagImage, verifyHostImage, type HostLayers, type LoadResult, type Verified } from './images.js'
import { launchCandidate, switchSlot, type Launch, type SwitchSpec } from './launch.js'
import { openLock, type LockOptions, type PendingLock } from './lock.js'
import type { Route } from './nginx-config.js'
import { serviceDir, type Slot } from './paths.js'
import type { HostFacts } from './preflight.js'
import { ensureProxy, proxyServes, type ProxyServes, type ProxySpec, type SwitchResult } from './proxy.js'
import { runRelease, type ReleaseResult, type ReleaseSpec } from './release.js'
import { retireContainer, type RetireResult, type RetireSpec } from './retire.js'
import { allocateAddresses, removeRoute, writeRoute } from './route.js'
import { readCanary, startCanary, stopCanary, type CanaryTarget } from './canary.js'
import type { CanaryCounts } from './canary-counts.js'
import { setMaintenance, type MaintenanceResult, type MaintenanceSpec } from './maintenance.js'
import { SCRIPTS } from './scripts.js'
import { removeContainers, type CandidateSpec } from './slots.js'
import { writeState, type ServiceState } from './state.js'
import { hostTls, type HostTls } from './tls.js'
import { survey, type Survey, type SurveyRequest } from './survey.js'
import { startWorkers, stopContainers, type WorkerContainer, type WorkersStarted, type WorkerSpec } from './workers.js'

/**
 * Every remote step the deploy takes, so the sequence can run against a fake host in tests. The
 * steps that change the host run only while the deploy lock taken by openLock() is still this
 * run's, checked on the host at that moment; otherwise they throw LostLockError.
 */
export interface Host {
  readonly target: string
  /** Known after the first survey with preflight: true. */
  readonly facts: HostFacts
  /** Opens the lock's channel at once; the lock is taken by acquire(). */
  openLock(options: LockOptions): PendingLock
  survey(request: SurveyRequest): Promise<Survey>
  inspectImage(ref: string): Promise<ImageInfo | undefined>
  layers(): Promise<HostLayers>
  /**
   * `containerdStore`: what layers() found; some stores cannot unpack every codec themselves.
   * `verify`: the load step also checks the loaded image (its `verified`, when the host answered).
   */
  load(codec: Codec, archive: Readable, containerdStore: boolean, verify?: { sent: ImageInfo; ref: string }): Promise<LoadResult>
  tagImage(id: string, ref: string): Promise<void>
  verifyImage(sent: ImageInfo, ref: string): Promise<Verified>
  ensureProxy(spec: ProxySpec): Promise<string[]>
  /** The service's pinned addresses for both slots; empty on a network without them. */
  allocateAddresses(network: string, service: string, count: number): Promise<Partial<Record<Slot, string[]>>>
  /** Writes the service's proxy config and reloads nginx (`legacy`: see route.ts). */
  writeRoute(network: string, service: string, conf: string, legacy?: Route): Promise<void>
  /** Takes back a first deploy's config; `unswitch`: even once it had switched (a rollout going back). */
  removeRoute(network: string, service: string, unswitch?: boolean): Promise<void>
  /** Starts the candidate in the idle slot, health-checks it and, healthy, routes the proxy to it (one remote step). */
  launchCandidate(spec: CandidateSpec, env: EnvVar[], health: HealthSpec, sw: SwitchSpec): Launch
  /** Switches to a candidate whose launch held after its health check (switchSlot in launch.ts). */
  switchSlot(spec: CandidateSpec, sw: SwitchSpec, healthPath: string, also: string[]): Promise<SwitchResult>
  /** The release command in a one-off container of the candidate image, before the candidate starts. */
  runRelease(spec: ReleaseSpec, env: EnvVar[], onOutput: (line: string) => void): Promise<ReleaseResult>
  /** Starts the candidate's workers and waits out their settle window. */
  startWorkers(spec: WorkerSpec, workers: WorkerContainer[], env: EnvVar[], onLine: (line: string) => void): Promise<WorkersStarted>
  /** Stops (SIGTERM, stop timeout) and removes containers: the old slot's workers. */
  stopContainers(names: string[], limitSeconds: number): Promise<void>
  /** Tells a launch or release step under way to stop (the run was cancelled). */
  cancel(): Promise<void>
  removeContainers(names: string[]): Promise<void>
  /** After a failure: the proxy running again if it stopped, and what it serves. */
  proxyServes(proxy: Pick<ProxySpec, 'network' | 'port'>, route: Pick<Route, 'serverNames'>, healthPath: string): Promise<ProxyServes>
  retire(spec: RetireSpec, onWait: (open: number) => void): Promise<RetireResult>
  writeState(state: ServiceState): Promise<void>
  /** Turns the service's maintenance page on or off (no reload) and says what a client then gets. */
  setMaintenance(spec: MaintenanceSpec): Promise<MaintenanceResult>
  /** Sends `percent` of clients (sticky, by cookie) to `slot` next to the live one. */
  startCanary(target: CanaryTarget, slot: Slot, percent: number): Promise<void>
  /** What the proxy logged per slot since the canary started. */
  readCanary(target: CanaryTarget): Promise<CanaryCounts>
  /** Every client back on the live slot. */
  stopCanary(target: CanaryTarget): Promise<void>
  pruneImages(refs: string[]): Promise<string[]>
  /** The proxy's certificate store and the steps of a deploy's TLS stage (tls.ts). */
  readonly tls: HostTls
  /** Why the connection to the host ended before close(), if it did. */
  lost(): string | undefined
  close(): void
}

/**
 * `lockConnection` opens the deploy lock's own SSH connection; `opening`, one already under way
 * (connect.ts), is used instead, and closed with the host even if no lock was asked for.
 */
export function sshHost(ssh: Ssh, lockConnection: () => Promise<Ssh>, opening?: Promise<Ssh>): Host {
  let facts: HostFacts | undefined
  let guard: LockGuard | undefined
  let service = ''
  let lockSsh: Promise<Ssh> | undefined
  const run = guardedRunner((script, args, options) => ssh.run(script, args, options), () => guard, () => service)
  return {
    target: ssh.target,
    get facts() {
      if (!facts) throw new Error('the host was not checked yet')
      return facts
    },
    openLock: (options) => {
      service = options.service
      lockSsh = opening ?? lockConnection()
      lockSsh.catch(() => undefined) // reported by acquire()
      const pending = openLock(lockSsh, options)
      return {
        abandon: pending.abandon,
        acquire: async () => {
          const lock = await pending.acquire()
          guard = { dir: serviceDir(options.service), generation: lock.generation }
          return lock
        }
      }
    },
    survey: async (request) => {
      const found = await survey(ssh, request)
      facts ??= found.facts
      return found
    },
    inspectImage: (ref) => inspectHostImage(ssh, ref),
    layers: () => hostLayers(ssh),
    load: (codec, archive, containerdStore, verify) =>
      loadImage(ssh, guard, service, loadCommand(codec, facts?.dockerVersion ?? '', containerdStore), archive, verify),
    tagImage: (id, ref) => tagImage(run, id, ref),
    verifyImage: (sent, ref) => verifyHostImage(ssh, sent, ref),
    ensureProxy: (spec) => ensureProxy(run, spec),
    allocateAddresses: (network, name, count) => allocateAddresses(run, network, name, count),
    writeRoute: (network, name, conf, legacy) => writeRoute(run, network, name, conf, legacy),
    removeRoute: (network, name, unswitch) => removeRoute(run, network, name, unswitch),
    launchCandidate: (spec, env, health, sw) => launchCandidate(run, spec, env, health, sw),
    cancel: async () => {
      // The shell is busy with the launch step: a channel of its own.
      if (guard) await ssh.exec(bashCommand(SCRIPTS.cancel, [guard.dir, String(guard.generation)]))
    },
    switchSlot: (spec, sw, healthPath, also) => switchSlot(run, spec, sw, healthPath, also),
    runRelease: (spec, env, onOutput) => runRelease(run, spec, env, onOutput),
    startWorkers: (spec, workers, env, onLine) => startWorkers(run, spec, workers, env, onLine),
    stopContainers: (names, limitSeconds) => stopContainers(run, names, limitSeconds),
    removeContainers: (names) => removeContainers(run, names),
    proxyServes: (proxy, route, healthPath) => proxyServes(ssh, proxy, route, healthPath),
    retire: (spec, onWait) => retireContainer(run, spec, onWait),
    writeState: (state) => writeState(run, state),
    setMaintenance: (spec) => setMaintenance(run, spec),
    startCanary: (target, slot, percent) => startCanary(run, target, slot, percent),
    readCanary: (target) => readCanary(run, target),
    stopCanary: (target) => stopCanary(run, target),
    pruneImages: (refs) => pruneImages(run, service, refs),
    tls: hostTls(ssh, run, () => guard, () => service),
    lost: () => ssh.lost(),
    close: () => {
      ssh.close()
      void (lockSsh ?? opening)?.then((connection) => connection.close(), () => undefined)
    }
  }
}
