import type { Readable } from 'node:stream'
import type { ImageInfo } from '../image-info.js'
import type { EnvVar } from '../inputs.js'
import type { RunResult, Ssh } from '../ssh.js'
import { waitHealthy, type HealthResult, type HealthSpec } from './health.js'
import { hostChainIds, inspectHostImage, loadImage, pruneImages, tagImage, verifyHostImage } from './images.js'
import { acquireLock, type HostLock, type LockOptions } from './lock.js'
import type { Route } from './nginx-config.js'
import type { HostFacts } from './preflight.js'
import {
  checkProxy, ensureProxy, restoreRoute, switchRoute, verifyRoute, type ProxyCheck, type ProxySpec
} from './proxy.js'
import { retireContainer, type RetireResult, type RetireSpec } from './retire.js'
import { removeContainer, startCandidate, type CandidateSpec } from './slots.js'
import { readSnapshot, writeState, type ServiceSnapshot, type ServiceState } from './state.js'

/** Every remote step the deploy takes, so the sequence can run against a fake host in tests. */
export interface Host {
  readonly target: string
  readonly facts: HostFacts
  lock(options: LockOptions): Promise<HostLock>
  inspectImage(ref: string): Promise<ImageInfo | undefined>
  chainIds(): Promise<Set<string>>
  load(decompress: string, archive: Readable): Promise<RunResult>
  verifyImage(sent: ImageInfo): Promise<string | undefined>
  /** Gives an image already on the host the tag being deployed, so a later rollback finds it. */
  tagImage(id: string, ref: string): Promise<void>
  checkProxy(spec: ProxySpec): Promise<ProxyCheck>
  ensureProxy(spec: ProxySpec): Promise<string[]>
  snapshot(service: string, network: string): Promise<ServiceSnapshot>
  startCandidate(spec: CandidateSpec, env: EnvVar[]): Promise<void>
  waitHealthy(spec: HealthSpec, onAttempt: (line: string) => void): Promise<HealthResult>
  removeContainer(name: string): Promise<void>
  switchRoute(network: string, route: Route): Promise<void>
  verifyRoute(network: string, route: Route, healthPath: string): Promise<void>
  restoreRoute(network: string, service: string): Promise<void>
  retire(spec: RetireSpec, onWait: (open: number) => void): Promise<RetireResult>
  writeState(state: ServiceState): Promise<void>
  pruneImages(refs: string[]): Promise<string[]>
  close(): void
}

export function sshHost(ssh: Ssh, facts: HostFacts): Host {
  return {
    target: ssh.target,
    facts,
    lock: (options) => acquireLock(ssh, options),
    inspectImage: (ref) => inspectHostImage(ssh, ref),
    chainIds: () => hostChainIds(ssh),
    load: (decompress, archive) => loadImage(ssh, decompress, archive),
    verifyImage: (sent) => verifyHostImage(ssh, sent),
    tagImage: (id, ref) => tagImage(ssh, id, ref),
    checkProxy: (spec) => checkProxy(ssh, spec),
    ensureProxy: (spec) => ensureProxy(ssh, spec),
    snapshot: (service, network) => readSnapshot(ssh, service, network),
    startCandidate: (spec, env) => startCandidate(ssh, spec, env),
    waitHealthy: (spec, onAttempt) => waitHealthy(ssh, spec, onAttempt),
    removeContainer: (name) => removeContainer(ssh, name),
    switchRoute: (network, route) => switchRoute(ssh, network, route),
    verifyRoute: (network, route, healthPath) => verifyRoute(ssh, network, route, healthPath),
    restoreRoute: (network, service) => restoreRoute(ssh, network, service),
    retire: (spec, onWait) => retireContainer(ssh, spec, onWait),
    writeState: (state) => writeState(ssh, state),
    pruneImages: (refs) => pruneImages(ssh, refs),
    close: () => ssh.close()
  }
}
