import type { Release } from '../host/state.js'
import type { Slot } from '../host/paths.js'
import type { PhaseTime } from './phases.js'
import type { Codec } from '../transfer/compression.js'
import type { CanaryVerdict } from '../rollout/canary.js'

/** A canary's rules and the figures it was judged by. */
export interface CanaryReport extends CanaryVerdict {
  percent: number
  durationSeconds: number
  max5xx: number
}
import type { CertificateRecord } from '../tls/store.js'

export type ImageSource = 'sent' | 'tagged' | 'already-on-host' | 'host-copy' | 'rollback'

export interface TransferReport {
  source: ImageSource
  sentBytes: number
  archiveBytes: number
  imageBytes: number
  skippedLayers: number
  totalLayers: number
  codec?: Codec
  durationMs: number
}

/** The release command's run, for the summary. */
export interface ReleaseStepReport {
  command: string[]
  /** Why it did not run (a rollback, an image released before). */
  skipped?: string
  exitCode?: number
  durationMs?: number
}

/** The TLS stage: the service's certificate and every certificate of the proxy. */
export interface TlsReport {
  mode: 'auto' | 'custom'
  httpsPort: number
  hsts: boolean
  /** What this run did with the service's certificate. */
  action: 'issued' | 'renewed' | 'installed' | 'kept'
  /** Why it got a new one. */
  reason?: string
  service?: CertificateRecord
  /** Every certificate in the proxy's store, by service. */
  certificates: CertificateRecord[]
  /** The proxy was recreated to publish the HTTPS port: how long new connections waited. */
  proxyGapMs?: number
  /** What became of the renewal container (tls: auto). */
  renewal?: string
}

/** Everything a run learned, for the outputs and the job summary. */
export interface DeployReport {
  service: string
  target: string
  network: string
  proxyPort: number
  serverNames: string[]
  slot: Slot
  container: string
  image: string
  imageId: string
  appPort: number
  /** The release that was live before this run. */
  replaced?: Release
  /** What `rollback: true` would return to now. */
  previous?: Release
  rollback: boolean
  recovered: boolean
  transfer: TransferReport
  healthAttempts: number
  drainOpenConnections: number
  pruned: string[]
  /** The service's proxy config changed in this run (nginx reloaded); else the switch was a symlink's rename. */
  reloaded: boolean
  /** The release command, when there is one. */
  releaseStep?: ReleaseStepReport
  /** The release's worker containers. */
  workers?: string[]
  /** The releases whose images stay on the host, newest first (the live one first). */
  kept?: Release[]
  /** What happened to the replaced slot. */
  keepPrevious?: 'stopped' | 'running'
  /** This run was a rollback to a slot kept running: only a switch. */
  instant?: boolean
  /** The canary before the switch, when there was one. */
  canary?: CanaryReport
  /** HTTPS, when the service uses it. */
  tls?: TlsReport
  phases: PhaseTime[]
}

/** How one host of a rollout ended. */
export interface HostOutcome {
  /** user@host:port */
  target: string
  /** live: the new release serves; reverted: it switched and went back; failed; not started. */
  result: 'live' | 'reverted' | 'failed' | 'not started'
  /** Why it failed, or what it serves after going back. */
  error?: string
  report?: DeployReport
}

/** Several hosts: each one's outcome and phase times. */
export interface RolloutReport {
  hosts: HostOutcome[]
  phases: { target: string; times: PhaseTime[] }[]
}
