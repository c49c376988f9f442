import * as core from '@actions/core'
import { shortId } from '../image/info.js'
import { seconds } from './format.js'
import { code, codeBlock, text } from './markdown.js'
import { setOutputs } from './outputs.js'
import { renderSummary, transferLine } from './summary.js'
import type { NodeOutcome, SwarmReport, SwarmRollingReport } from './swarm-report.js'

// A Swarm deploy's job summary and outputs: blue-green reads as a single host's (the slot, the
// image, the switch, how to roll back), then one row per node; a rolling update says what Swarm did.

export function renderSwarmSummary(report: SwarmReport): string {
  if (report.kind === 'rolling') return renderRolling(report)
  const { deploy } = report
  const skipped = report.skipped.length ? `\n\nDrained, so left out: ${report.skipped.map((name) => text(name)).join(', ')}.` : ''
  return [
    renderSummary(deploy),
    '',
    `**Swarm:** ${report.replicas} task(s) of the service ${code(deploy.container)}, behind the proxy service ${code(`${deploy.network}-proxy`)} ` +
      `on port ${deploy.proxyPort} of every node.${skipped}`,
    '',
    nodeTable(report.nodes)
  ].join('\n')
}

function nodeTable(nodes: NodeOutcome[]): string {
  return [
    '| Node | Reached at | Image |',
    '|---|---|---|',
    ...nodes.map((node) => `| ${text(node.node)} | ${code(node.target, true)} | ${node.transfer ? text(transferLine(node.transfer)) : 'runs no task (drained): nothing sent'} |`)
  ].join('\n')
}

function renderRolling(report: SwarmRollingReport): string {
  const verb = report.unchanged ? 'already ran this image' : report.rollback ? 'rolled back to its previous image (rolling, start-first)' : 'updated by Swarm (rolling, start-first)'
  const total = report.phases.reduce((sum, phase) => sum + phase.ms, 0)
  return [
    `## ${text(report.service)} ${verb}`,
    '',
    '| Service | |',
    '|---|---|',
    `| Manager | ${code(report.target, true)} |`,
    `| Image | ${code(report.image, true)} (${code(shortId(report.imageId), true)}) |`,
    `| Before | ${code(report.previousImage, true)} |`,
    '',
    nodeTable(report.nodes),
    '',
    '| Phase | Time |',
    '|---|---:|',
    ...report.phases.map((phase) => `| ${text(phase.name)} | ${seconds(phase.ms)} |`),
    `| **total** | **${seconds(total)}** |`,
    '',
    `**Roll back** to the image it ran before (${code(report.previousImage)}), start-first:`,
    '',
    codeBlock('yaml', ['target: swarm', 'swarm-update: rolling', 'rollback: true', `service: ${report.service}`])
  ].join('\n')
}

export function setSwarmOutputs(report: SwarmReport): void {
  if (report.kind === 'bluegreen') return setOutputs(report.deploy)
  const outputs: Record<string, string> = {
    slot: '',
    'previous-slot': '',
    image: report.image,
    'image-id': report.imageId,
    'previous-image': report.previousImage,
    'previous-image-id': report.previousImage.startsWith('sha256:') ? report.previousImage : '',
    container: report.service,
    'transferred-bytes': String(report.transfer.sentBytes),
    'skipped-layers': String(report.transfer.skippedLayers)
  }
  for (const [name, value] of Object.entries(outputs)) core.setOutput(name, value)
}
