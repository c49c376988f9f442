import * as core from '@actions/core'
import type { DeployReport, RolloutReport } from './report.js'

/** The step outputs of action.yml. */
export function outputsOf(report: DeployReport): Record<string, string> {
  return {
    slot: report.slot,
    'previous-slot': report.previous?.slot ?? '',
    image: report.image,
    'image-id': report.imageId,
    'previous-image': report.previous?.image ?? '',
    'previous-image-id': report.previous?.imageId ?? '',
    container: report.container,
    'transferred-bytes': String(report.transfer.sentBytes),
    'skipped-layers': String(report.transfer.skippedLayers),
    releases: releasesOutput(report)
  }
}

/** The kept releases, newest first: what each ran and the input that goes back to it. */
export function releasesOutput(report: DeployReport): string {
  return JSON.stringify(
    (report.kept ?? []).map((release, i) => ({
      image: release.image,
      imageId: release.imageId,
      slot: release.slot,
      deployedAt: release.deployedAt,
      releaseCommandRan: release.released === true,
      live: i === 0,
      ...(i === 0 ? {} : { rollback: i })
    }))
  )
}

export function setOutputs(report: DeployReport): void {
  for (const [name, value] of Object.entries(outputsOf(report))) core.setOutput(name, value)
}

/** hosts-result: one object per host of a rollout, as JSON. */
export function hostsResult(rollout: RolloutReport): string {
  return JSON.stringify(
    rollout.hosts.map((host) => ({
      host: host.target,
      result: host.result,
      ...(host.error ? { error: host.error } : {}),
      ...(host.report
        ? {
            slot: host.report.slot,
            image: host.report.image,
            imageId: host.report.imageId,
            transferredBytes: host.report.transfer.sentBytes,
            skippedLayers: host.report.transfer.skippedLayers
          }
        : {})
    }))
  )
}

/** Several hosts: hosts-result, and the single-host outputs of the first host that went live. */
export function setRolloutOutputs(rollout: RolloutReport): void {
  core.setOutput('hosts-result', hostsResult(rollout))
  const first = rollout.hosts.find((host) => host.report)?.report
  if (first) setOutputs(first)
}
