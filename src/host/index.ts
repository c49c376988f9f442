import type { Readable } from 'node:stream'
import type { ImageInfo } from '../image/info.js'
import type { EnvVar } from '../inputs.js'
import type { RunResult, Ssh } from '../ssh/connection.js'
import type { Codec } from '../transfer/compression.js'
import type { HealthSpec } from './health.js'
import { hostLayers, inspectHostImage, loadCommand, loadImage, pruneImages, tagImage, verifyHostImage, type HostLayers, type Verified } from './images.js'
import { openLock, type LockOptions, type PendingLock } from './lock.js'
import type { HostFacts } from './preflight.js'
import { ensureProxy, restoreRoute, type ProxySpec } from './proxy.js'
import { retireContainer, type RetireResult, type RetireSpec } from './retire.js'
import { launchCandidate, type Launch, type SwitchSpec } from './launch.js'
import { removeContainer, type CandidateSpec } from './slots.js'
import { writeState, type ServiceState } from './state.js'
import { survey, type Survey, type SurveyRequest } from './survey.js'

/** Every remote step the deploy takes, so the sequence can run against a fake host in tests. */
export interface Host {
  readonly target: string
  /** Known after the first survey with preflight: true. */
  readonly facts: HostFacts
  /** Opens the lock's channel at once; the lock is taken by acquire(). */
  openLock(options: LockOptions): PendingLock
  survey(request: SurveyRequest): Promise<Survey>
  inspectImage(ref: string): Promise<ImageInfo | undefined>
  layers(): Promise<HostLayers>
  /** `containerdStore`: what layers() found; some stores cannot unpack every codec themselves. */
  load(codec: Codec, archive: Readable, containerdStore: boolean): Promise<RunResult>
  tagImage(id: string, ref: string): Promise<void>
  verifyImage(sent: ImageInfo, ref: string): Promise<Verified>
  ensureProxy(spec: ProxySpec): Promise<string[]>
  /** Starts the candidate in the idle slot, health-checks it and, healthy, routes the proxy to it (one remote step). */
  launchCandidate(spec: CandidateSpec, env: EnvVar[], health: HealthSpec, sw: SwitchSpec): Launch
  removeContainer(name: string): Promise<void>
  restoreRoute(network: string, service: string): Promise<void>
  retire(spec: RetireSpec, onWait: (open: number) => void): Promise<RetireResult>
  writeState(state: ServiceState): Promise<void>
  pruneImages(refs: string[]): Promise<string[]>
  /** Why the connection to the host ended before close(), if it did. */
  lost(): string | undefined
  close(): void
}

export function sshHost(ssh: Ssh): Host {
  let facts: HostFacts | undefined
  return {
    target: ssh.target,
    get facts() {
      if (!facts) throw new Error('the host was not checked yet')
      return facts
    },
    openLock: (options) => openLock(ssh, options),
    survey: async (request) => {
      const found = await survey(ssh, request)
      facts ??= found.facts
      return found
    },
    inspectImage: (ref) => inspectHostImage(ssh, ref),
    layers: () => hostLayers(ssh),
    load: (codec, archive, containerdStore) =>
      loadImage(ssh, loadCommand(codec, facts?.dockerVersion ?? '', containerdStore), archive),
    tagImage: (id, ref) => tagImage(ssh, id, ref),
    verifyImage: (sent, ref) => verifyHostImage(ssh, sent, ref),
    ensureProxy: (spec) => ensureProxy(ssh, spec),
    launchCandidate: (spec, env, health, sw) => launchCandidate(ssh, spec, env, health, sw),
    removeContainer: (name) => removeContainer(ssh, name),
    restoreRoute: (network, service) => restoreRoute(ssh, network, service),
    retire: (spec, onWait) => retireContainer(ssh, spec, onWait),
    writeState: (state) => writeState(ssh, state),
    pruneImages: (refs) => pruneImages(ssh, refs),
    lost: () => ssh.lost(),
    close: () => ssh.close()
  }
}
