import { Readable } from 'node:stream'
import { pack } from 'tar-stream'
import type { Host } from '../../src/host/index.js'
import type { HealthResult } from '../../src/host/health.js'
import type { SwitchSpec } from '../../src/host/launch.js'
import type { HostLock, LockOptions, PendingLock } from '../../src/host/lock.js'
import type { HostFacts } from '../../src/host/preflight.js'
import { lostLock } from '../../src/host/guard.js'
import { confDigest, type Route } from '../../src/host/nginx-config.js'
import type { ProxyCheck, ProxySpec } from '../../src/host/proxy.js'
import type { SurveyRequest } from '../../src/host/survey.js'
import type { ServiceContainer, ServiceState } from '../../src/host/state.js'
import type { ImageInfo } from '../../src/image/info.js'
import type { Codec } from '../../src/transfer/compression.js'
import type { RunnerDocker } from '../../src/image/plan.js'
import type { MaintenanceResult, MaintenanceSpec } from '../../src/host/maintenance.js'
import type { CanaryTarget } from '../../src/host/canary.js'
import type { CanaryCounts } from '../../src/host/canary-counts.js'
import type { HostTls, InstallSpec } from '../../src/host/tls.js'
import type { CertificateRecord, OrderRecord } from '../../src/tls/store.js'

export function image(id: string, overrides: Partial<ImageInfo> = {}): ImageInfo {
  return {
    id: `sha256:${id.padEnd(64, '0')}`,
    diffIds: [`sha256:${'1'.repeat(64)}`, `sha256:${id.padEnd(64, '2')}`],
    exposedPorts: ['8080/tcp'],
    sizeBytes: 1000,
    hasHealthcheck: false,
    repoTags: [],
    configKey: '[{"Cmd":["/app/start.sh"]},"linux","amd64"]',
    ...overrides
  }
}

/**
 * An in-memory host with the same observable behaviour as the real one: containers, images,
 * the proxy's route file and state.json. Knobs make single steps fail.
 */
export class FakeHost implements Host {
  readonly target = 'root@fake:22'
  readonly facts: HostFacts = { user: 'root', dockerVersion: '27.0.0', tools: [], platform: { os: 'linux', arch: 'amd64' } }
  readonly calls: string[] = []
  readonly images = new Map<string, ImageInfo>()
  readonly containers = new Map<string, ServiceContainer>()
  routes = new Map<string, Route>()
  state?: ServiceState
  proxy: ProxyCheck = { status: 'running', publishedPort: 80, image: 'nginx:alpine', portBusy: false, otherServices: [], network: { mode: 'pinned', subnet: '10.0.0.0/24' } }
  /** The service's proxy config text on the host, by service. */
  readonly confs = new Map<string, string>()
  /** Pinned addresses by service; allocateAddresses fills them. */
  readonly addresses = new Map<string, Partial<Record<'blue' | 'green', string[]>>>()
  /** proxyServes finds the proxy stopped and starts it again. */
  proxyStopped = false
  health: HealthResult = { healthy: true, attempts: 2 }
  failVerify = false
  /** writeRoute fails as nginx -t refusing the config. */
  failWriteRoute = ''
  /** The lock is lost when this step comes (start, switch, retire...): it and every later guarded step throw. */
  loseLockAt?: string
  private lockLost = false
  /** Called as the health check starts and as the switch happens (to cancel a run at that moment). */
  onHealth?: () => void
  onSwitch?: () => void
  failLoad = ''
  lockError?: Error
  /** What `docker load` puts on the host. */
  loads?: ImageInfo
  loadedBytes = 0
  released = false
  /** How often the lock was taken; undefined in a survey when it found the lock held. */
  lockGeneration = 0
  /** Another deploy takes the lock between this run's survey and its own lock. */
  racingDeploy = false
  closed = false

  addImage(info: ImageInfo, ...refs: string[]): void {
    this.images.set(info.id, info)
    for (const ref of refs) this.images.set(ref, info)
  }

  openLock(options: LockOptions): PendingLock {
    return {
      abandon: () => void this.calls.push('abandon-lock'),
      acquire: async (): Promise<HostLock> => {
        this.calls.push(`lock ${options.service}`)
        if (this.lockError) throw this.lockError
        this.lockGeneration++
        return { generation: this.lockGeneration, assertHeld: () => undefined, release: async () => void (this.released = true) }
      }
    }
  }

  async survey(request: SurveyRequest) {
    this.calls.push('survey')
    const service = request.proxy.service
    const route = this.routes.get(service)
    const containers = [...this.containers.values()].filter((container) => container.name.startsWith(`${service}-`))
    const state = structuredClone(this.state ?? { version: 1 as const, service, history: [] })
    const conf = this.confs.get(service)
    const found = {
      snapshot: { state, route, containers, addresses: this.addresses.get(service), confDigest: conf ? confDigest(conf) : undefined },
      proxy: this.proxy,
      image: request.image ? this.images.get(request.image) : undefined,
      lockGeneration: this.lockGeneration
    }
    if (this.racingDeploy) this.lockGeneration++
    return found
  }

  async inspectImage(ref: string) {
    return this.images.get(ref)
  }

  async layers() {
    return { chainIds: new Set<string>(), images: [...this.images.values()], containerdStore: false }
  }

  async tagImage(id: string, ref: string) {
    this.calls.push(`tag ${id} ${ref}`)
    const image = this.images.get(id)
    if (!image) throw new Error(`Could not tag ${id} as ${ref} on the host: No such image`)
    this.images.set(ref, image)
  }

  async load(codec: Codec, archive: Readable) {
    this.calls.push(`load ${codec}`)
    for await (const chunk of archive) this.loadedBytes += (chunk as Buffer).length
    if (this.failLoad) return { code: 1, stdout: '', stderr: this.failLoad }
    if (this.loads) this.addImage(this.loads)
    return { code: 0, stdout: 'Loaded image', stderr: '' }
  }

  async verifyImage(sent: ImageInfo) {
    const image = this.images.get(sent.id)
    return image ? { image } : { problem: `the host has no image ${sent.id}` }
  }

  async ensureProxy(spec: ProxySpec) {
    this.calls.push(`ensure-proxy ${spec.network}`)
    return ['proxy running']
  }

  launchCandidate(spec: { name: string; names?: string[]; slot: string; image: string; imageId: string; reuse?: boolean }, _env: unknown, _health: unknown, sw: SwitchSpec) {
    this.calls.push(`${spec.reuse ? 'reuse' : 'start'} ${(spec.names ?? [spec.name]).join(' ')}`)
    try {
      this.guard('start')
    } catch (error) {
      const lost = Promise.reject(error)
      lost.catch(() => undefined)
      return { started: lost, health: () => lost, switched: () => lost }
    }
    const started = this.images.has(spec.imageId)
      ? Promise.resolve(void (spec.names ?? [spec.name]).forEach((name) => this.containers.set(name, { name, state: 'running', slot: spec.slot, image: spec.image, imageId: spec.imageId })))
      : Promise.reject(new Error(`Could not start ${spec.name}: No such image: ${spec.imageId}`))
    return {
      started,
      health: async (onAttempt: (line: string) => void) => {
        this.calls.push(`health ${spec.name}`)
        this.onHealth?.()
        onAttempt('attempt 1: HTTP 200')
        return this.health
      },
      switched: () => (sw.hold ? Promise.resolve({ ok: true as const }) : this.switchRoute(sw.route))
    }
  }

  async allocateAddresses(_network: string, service: string, count = 1) {
    this.calls.push('allocate')
    const take = (from: number) => Array.from({ length: count }, (_, i) => `10.0.0.${from - 2 * i}`)
    const pinned = this.proxy.network.mode === 'names' ? {} : { blue: take(254), green: take(253) }
    this.addresses.set(service, pinned)
    return pinned
  }

  async writeRoute(_network: string, service: string, conf: string) {
    this.guard('write-route')
    this.calls.push(`write-route ${service}`)
    if (this.failWriteRoute) throw new Error(`nginx refused the config of ${service} (nginx -t), the previous one is back: ${this.failWriteRoute}`)
    this.confs.set(service, conf)
  }

  /** What the host's lock check does in every step that changes it. */
  private guard(step: string): void {
    if (this.loseLockAt === step) this.lockLost = true
    if (this.lockLost) throw lostLock('web', 'another deploy has taken it since')
  }

  async removeRoute(_network: string, service: string) {
    this.calls.push(`remove-route ${service}`)
    if (!this.routes.has(service)) this.confs.delete(service)
  }

  async cancel() {
    this.calls.push('cancel')
  }

  async proxyServes(_proxy: unknown, route: { serverNames: string[] }) {
    this.calls.push('proxy-serves')
    const restarted = this.proxyStopped
    this.proxyStopped = false
    const live = [...this.routes.values()].find((candidate) => candidate.serverNames.join() === route.serverNames.join())
    const answer = live ? { status: 200, slot: live.slot } : { status: 503 }
    return { status: restarted ? 'exited' : 'running', restarted, answer, said: `STATUS ${answer.status} SLOT ${live?.slot ?? 'none'}` }
  }

  async removeContainers(names: string[]) {
    this.guard('remove')
    for (const name of names) {
      this.calls.push(`remove ${name}`)
      this.containers.delete(name)
    }
  }

  /** What the release command prints and exits with; undefined exit: it timed out. */
  release: { output: string[]; exitCode?: number } = { output: ['migrated'], exitCode: 0 }

  async runRelease(spec: { name: string }, _env: unknown, onOutput: (line: string) => void) {
    this.guard('release')
    this.calls.push(`release ${spec.name}`)
    this.release.output.forEach(onOutput)
    const { exitCode } = this.release
    return { exitCode, timedOut: exitCode === undefined, cancelled: false, tail: this.release.output }
  }

  /** The worker container that exits during its settle window, if any. */
  crashingWorker?: string

  async startWorkers(spec: { slot: string; image: string; imageId: string }, workers: { container: string }[]) {
    this.guard('workers')
    this.calls.push(`workers ${workers.map((worker) => worker.container).join(' ')}`)
    for (const worker of workers) {
      this.containers.set(worker.container, { name: worker.container, state: 'running', slot: spec.slot, image: spec.image, imageId: spec.imageId })
    }
    if (this.crashingWorker) return { ok: false as const, container: this.crashingWorker, reason: 'exited (status exited, exit code 4)', logs: ['no queue'] }
    return { ok: true as const }
  }

  async switchSlot(spec: { name: string }, sw: SwitchSpec, _healthPath: string, also: string[]) {
    this.calls.push(`policy ${[spec.name, ...also].join(' ')}`)
    return this.switchRoute(sw.route)
  }

  async stopContainers(names: string[]) {
    this.guard('stop')
    this.calls.push(`stop ${names.join(' ')}`)
    for (const name of names) this.containers.delete(name)
  }

  /** What the launch step's switch does once the candidate is healthy. */
  private async switchRoute(route: Route) {
    this.calls.push(`switch ${route.container}`)
    this.canary = undefined // the switch removes a canary's files
    this.onSwitch?.()
    if (this.failVerify) {
      return { ok: false as const, switchedBack: true, message: `The proxy did not serve ${route.container} after the switch` }
    }
    this.routes.set(route.service, route)
    return { ok: true as const }
  }

  async retire(spec: { containers: string[]; keep?: boolean; record?: { state: ServiceState; onRecorded: () => void } }) {
    this.guard('retire')
    if (spec.record) {
      await this.writeState(spec.record.state)
      spec.record.onRecorded()
    }
    this.calls.push(`${spec.keep ? 'drain' : 'retire'} ${spec.containers.join(' ')}`)
    if (!spec.keep) for (const name of spec.containers) this.containers.delete(name)
    return { openConnections: 0 }
  }

  async writeState(state: ServiceState) {
    this.guard('write-state')
    this.calls.push('write-state')
    this.state = structuredClone(state)
  }

  /** Maintenance by service: what a request for / gets afterwards. */
  readonly maintenance = new Map<string, string>()
  async setMaintenance(spec: MaintenanceSpec): Promise<MaintenanceResult> {
    this.guard('maintenance')
    this.calls.push(`maintenance ${spec.service} ${spec.on ? 'on' : 'off'}`)
    if (!this.confs.has(spec.service)) throw new Error(`maintenance: ${spec.service} has no proxy config on network ${spec.network} of this host: deploy it once first`)
    if (spec.on) this.maintenance.set(spec.service, spec.page)
    else this.maintenance.delete(spec.service)
    const said = spec.on ? 'STATUS 503 SLOT none MAINTENANCE on' : 'STATUS 200 SLOT blue MAINTENANCE off'
    return { answer: { status: spec.on ? 503 : 200, maintenance: spec.on }, said }
  }

  /** What each read of the canary's counts returns, in turn (the last one repeats). */
  canaryCounts: CanaryCounts[] = [{}]
  canary?: { slot: string; percent: number }
  async startCanary(_target: CanaryTarget, slot: 'blue' | 'green', percent: number) {
    this.guard('canary')
    this.calls.push(`canary ${slot} ${percent}`)
    this.canary = { slot, percent }
  }

  async readCanary() {
    this.calls.push('read-canary')
    return this.canaryCounts.length > 1 ? this.canaryCounts.shift()! : this.canaryCounts[0]
  }

  async stopCanary() {
    this.calls.push('stop-canary')
    this.canary = undefined
  }

  async pruneImages(refs: string[]) {
    if (refs.length) this.calls.push(`prune ${refs.join(' ')}`)
    return refs
  }

  /** The proxy's certificate store: records by service, what was installed, the HTTP-01 answers. */
  readonly tlsRecords = new Map<string, CertificateRecord>()
  readonly installed = new Map<string, InstallSpec>()
  readonly orders = new Map<string, OrderRecord>()
  readonly challenges = new Map<string, string>()
  accountKeyPem?: string
  /** uid:gid of the proxy's nginx workers; undefined: the proxy did not say. */
  workerOwner?: string = '101:101'
  recreateGapMs = 420

  readonly tls: HostTls = {
    state: async () => {
      this.calls.push('tls-state')
      return { owner: this.workerOwner, renew: { status: 'missing' }, records: [...this.tlsRecords.values()], orders: [...this.orders.values()] }
    },
    lock: async () => {
      this.calls.push('tls-lock')
      return { release: async () => void this.calls.push('tls-unlock') }
    },
    challenge: () => ({
      put: async (token, keyAuthorization) => {
        this.calls.push(`challenge ${token}`)
        this.challenges.set(token, keyAuthorization)
      },
      remove: async (token) => void this.challenges.delete(token)
    }),
    accountKey: async () => this.accountKeyPem,
    certificateKey: async (_network, id) => {
      this.calls.push(`tls-key ${id}`)
      return this.installed.get(id)?.keyPem
    },
    saveAccountKey: async (_network, _directory, keyPem) => {
      this.calls.push('save-account-key')
      this.accountKeyPem = keyPem
    },
    install: async (_network, spec) => {
      this.guard('tls-install')
      this.calls.push(`tls-install ${spec.id} ${spec.record.serial}`)
      this.tlsRecords.set(spec.id, spec.record)
      this.installed.set(spec.id, spec)
      if (spec.order) this.orders.set(spec.id, spec.order)
      else this.orders.delete(spec.id)
    },
    saveOrder: async (_network, order) => {
      this.calls.push(`save-order ${order.id}`)
      this.orders.set(order.id, order)
    },
    recreateProxy: async (_network, _port, httpsPort) => {
      this.guard('recreate-proxy')
      this.calls.push(`recreate-proxy ${httpsPort}`)
      this.proxy = { ...this.proxy, publishedHttpsPort: httpsPort }
      return { gapMs: this.recreateGapMs }
    },
    ensureRenewal: async (network, image) => {
      this.calls.push(`ensure-renewal ${network} ${image}`)
      return 'renewal started'
    }
  }

  /** Set, the connection counts as lost (Host.lost). */
  lostReason?: string

  lost(): string | undefined {
    return this.lostReason
  }

  close(): void {
    this.closed = true
  }
}

/**
 * The runner's engine: images by reference, and a `docker save` that yields a small archive.
 * `calls`, when given, gets `save REF` and `stop-save REF` in turn with the host's calls.
 */
export function fakeRunner(images: Record<string, ImageInfo>, calls?: string[]): RunnerDocker & { saves: string[] } {
  const saves: string[] = []
  return {
    saves,
    inspect: async (ref) => images[ref],
    layerSizes: async () => undefined,
    save: (ref) => {
      saves.push(ref)
      calls?.push(`save ${ref}`)
      const archive = pack()
      archive.entry({ name: 'manifest.json' }, JSON.stringify([{ RepoTags: [ref], Layers: [] }]))
      archive.finalize()
      return { stdout: Readable.from(archive), done: Promise.resolve(), stop: () => void calls?.push(`stop-save ${ref}`) }
    }
  }
}
