import type { PhaseTime } from './phases.js'
import type { DeployReport, TransferReport } from './report.js'

// What a Swarm deploy learned, for the outputs and the job summary (swarm-summary.ts).

/** One node the run reached. */
export interface NodeOutcome {
  /** The node's host name in the Swarm. */
  node: string
  /** user@host:port, as reached over SSH. */
  target: string
  /** How the image got there (undefined on a node that runs no task). */
  transfer?: TransferReport
}

export interface SwarmBlueGreenReport {
  kind: 'bluegreen'
  /** As for one host: slot, service name as container, images, phases. */
  deploy: DeployReport
  replicas: number
  nodes: NodeOutcome[]
  /** Drained nodes, which got neither image nor config. */
  skipped: string[]
}

export interface SwarmRollingReport {
  kind: 'rolling'
  service: string
  /** The manager, user@host:port. */
  target: string
  /** The reference deployed (empty for a rollback) and the image ID the service now names. */
  image: string
  imageId: string
  /** What the service named before (what docker service rollback goes back to). */
  previousImage: string
  rollback: boolean
  /** The service already ran this spec: Swarm started no update. */
  unchanged: boolean
  nodes: NodeOutcome[]
  transfer: TransferReport
  phases: PhaseTime[]
}

export type SwarmReport = SwarmBlueGreenReport | SwarmRollingReport

/** The image's trip to every node as one figure: bytes summed, the source of the one that travelled. */
export function totalTransfer(reports: TransferReport[], imageBytes: number): TransferReport {
  const sent = reports.filter((report) => report.source === 'sent' || report.source === 'tagged')
  const sum = (pick: (report: TransferReport) => number): number => reports.reduce((total, report) => total + pick(report), 0)
  return {
    source: sent[0]?.source ?? reports[0]?.source ?? 'already-on-host',
    sentBytes: sum((report) => report.sentBytes),
    archiveBytes: sum((report) => report.archiveBytes),
    imageBytes,
    skippedLayers: sum((report) => report.skippedLayers),
    totalLayers: sum((report) => report.totalLayers),
    codec: sent[0]?.codec,
    durationMs: Math.max(0, ...reports.map((report) => report.durationMs))
  }
}
