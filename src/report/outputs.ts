import * as core from '@actions/core'
import type { DeployReport } from './report.js'

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
    'skipped-layers': String(report.transfer.skippedLayers)
  }
}

export function setOutputs(report: DeployReport): void {
  for (const [name, value] of Object.entries(outputsOf(report))) core.setOutput(name, value)
}
