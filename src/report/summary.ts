import type { Release } from '../host/state.js'
import { shortId } from '../image/info.js'
import { mib, rate, seconds } from './format.js'
import { code, codeBlock, text } from './markdown.js'
import type { DeployReport, TransferReport } from './report.js'
import { formatPercent, latencyLine, type SlotFigures } from '../rollout/canary.js'
import { tlsSection } from './tls.js'

// The job summary is what a reviewer reads after approving: what went live and where, what
// travelled, how long each phase took, and the exact input that undoes it. Every value goes in
// through markdown.ts: image names and IDs come from the host's own records, and a failure
// quotes Docker's errors and the app's log lines.

export function renderSummary(report: DeployReport): string {
  const verb = report.rollback ? `rolled back to ${code(report.image)}${report.instant ? ' (a switch to its running containers)' : ''}` : `is live`
  return [
    `## ${text(report.service)} ${verb} on ${text(report.slot)}`,
    '',
    releaseTable(report),
    '',
    `**Image:** ${transferLine(report.transfer)}`,
    '',
    `**Health check:** answered after ${report.healthAttempts} attempt${report.healthAttempts === 1 ? '' : 's'}.` +
      drainLine(report),
    '',
    `**Switch:** ${switchLine(report)}`,
    ...(report.tls ? tlsSection(report.tls) : []),
    ...appLines(report),
    ...canaryLines(report),
    '',
    phaseTable(report),
    '',
    rollbackSection(report),
    '',
    keptTable(report),
    report.recovered ? '\n> The host state disagreed with the proxy config (an earlier run died mid-deploy); it was repaired from the proxy config.\n' : ''
  ].join('\n')
}

function canaryLines(report: DeployReport): string[] {
  const canary = report.canary
  if (!canary) return []
  const row = (slot: SlotFigures, role: string) =>
    `| ${role} | ${code(slot.container, true)} | ${slot.requests} | ${slot.errors} (${formatPercent(slot.errorPercent)}) | ${latencyLine(slot)} |`
  return [
    '',
    `**Canary:** ${canary.percent}% of clients for ${canary.durationSeconds} s, promoted: the new release's 5xx share stayed within ${canary.max5xx} point(s) of the live one's.`,
    '',
    '| Slot | Container | Requests | 5xx | Time |',
    '|---|---|---|---|---|',
    row(canary.candidate, 'new'),
    row(canary.live, 'old')
  ]
}

export function renderFailure(message: string): string {
  const quoted = message.split(/\r?\n/).map((line) => `> ${text(line)}`).join('\n')
  return `## Deploy failed\n\n${quoted}\n`
}

function releaseTable(report: DeployReport): string {
  const names = report.serverNames.length ? text(report.serverNames.join(', ')) : 'any host name'
  const rows: [string, string][] = [
    ['Host', code(report.target, true)],
    ['Service', `${text(report.service)} behind proxy port ${report.proxyPort} (${names}, network ${text(report.network)})`],
    ['Slot', `**${text(report.slot)}**: container ${code(report.container, true)}, app port ${report.appPort}`],
    ['Image', code(report.image, true)],
    ['Image ID', code(report.imageId, true)],
    ['Replaced', report.replaced ? describe(report.replaced, true) : 'nothing (first deploy)']
  ]
  return ['| Release | |', '|---|---|', ...rows.map(([key, value]) => `| ${key} | ${value} |`)].join('\n')
}

function describe(release: Release, table = false): string {
  return `${text(release.slot)}: ${code(release.image, table)} (${code(shortId(release.imageId), table)})`
}

export function transferLine(transfer: TransferReport): string {
  const size = mib(transfer.imageBytes)
  switch (transfer.source) {
    case 'already-on-host':
      return `already on the host (${size}); nothing sent.`
    case 'tagged':
      return `already on the host under another name (${size}); tagged, nothing sent.`
    case 'host-copy':
      return `not on the runner; the host's copy (${size}) went live, nothing sent.`
    case 'rollback':
      return `the previous release's image (${size}) was still on the host; nothing sent.`
    default:
      return (
        `sent ${mib(transfer.sentBytes)} of ${size} (${transfer.skippedLayers} of ${transfer.totalLayers} layers already on the host) ` +
        `in ${seconds(transfer.durationMs)}${speed(transfer)}, ${text(transfer.codec ?? '')}.`
      )
  }
}

/** A rate says something only when there was something to send. */
function speed(transfer: TransferReport): string {
  return transfer.sentBytes >= 1048576 ? ` at ${rate(transfer.sentBytes, transfer.durationMs)}` : ''
}

function switchLine(report: DeployReport): string {
  return report.reloaded
    ? 'the proxy config of the service changed (first deploy, port or host names), so nginx reloaded gracefully before the candidate started; the switch itself was a symlink\'s rename.'
    : 'a symlink\'s rename in the proxy: no nginx reload, no client connection closed.'
}

/** The release command and the workers, when the app has them. */
function appLines(report: DeployReport): string[] {
  const lines: string[] = []
  const step = report.releaseStep
  if (step) {
    const command = code(step.command.join(' '))
    const ran = step.skipped
      ? `${command} skipped: ${text(step.skipped)}.`
      : `${command} exited with code ${step.exitCode ?? 'unknown'} in ${seconds(step.durationMs ?? 0)}.`
    lines.push('', `**Release command:** ${ran}`)
  }
  if (report.workers?.length) {
    lines.push('', `**Workers:** ${report.workers.map((name) => code(name)).join(', ')}, running ${code(report.image)}.`)
  }
  return lines
}

const PHASE_NAMES: Record<string, string> = {
  connect: 'connect over SSH',
  swarm: 'read the Swarm (nodes, services)',
  check: 'check host and image',
  lock: 'take the deploy lock',
  state: 'read the live slot',
  transfer: 'send the image',
  proxy: 'make sure the proxy runs',
  route: 'route the idle slot',
  tls: 'obtain or check the TLS certificate',
  release: 'release command',
  workers: 'start the workers and let them settle',
  candidate: 'start the candidate',
  health: 'health check',
  switch: 'switch and verify',
  record: 'record the release',
  retire: 'drain and stop the old slot'
}

function drainLine(report: DeployReport): string {
  if (!report.replaced) return ''
  if (report.drainOpenConnections > 0) {
    return ` The old slot was stopped at drain-timeout with ${report.drainOpenConnections} connection(s) open.`
  }
  return ` The old slot drained and was stopped.`
}

function phaseTable(report: DeployReport): string {
  const total = report.phases.reduce((sum, phase) => sum + phase.ms, 0)
  return [
    '| Phase | Time |',
    '|---|---:|',
    ...report.phases.map((phase) => `| ${PHASE_NAMES[phase.name] ?? phase.name} | ${seconds(phase.ms)} |`),
    `| **total** | **${seconds(total)}** |`
  ].join('\n')
}

/** Each kept release with the exact input that goes back to it (by tag: nothing to send). */
function keptTable(report: DeployReport): string {
  const kept = report.kept ?? []
  if (kept.length < 2) return ''
  const rows = kept.map((release, i) => {
    const back = i === 0 ? 'live' : `${code(`image: ${release.image}`, true)} or ${code(`rollback: ${i}`, true)}`
    const ran = release.released ? 'yes' : ''
    return `| ${code(release.image, true)} | ${code(shortId(release.imageId), true)} | ${text(release.deployedAt)} | ${ran} | ${back} |`
  })
  return ['**Kept releases** (their images stay on the server; going back sends nothing):', '', '| Image | ID | Deployed | Release command | Go back with |', '|---|---|---|---|---|', ...rows, ''].join('\n')
}

function rollbackSection(report: DeployReport): string {
  if (!report.previous) return '**Roll back:** no previous release is recorded yet.'
  const how = report.keepPrevious === 'running'
    ? 'its containers still run (keep-previous: running), so a rollback is only a proxy switch'
    : 'its image is kept, so a rollback starts it again, with nothing to send'
  return [
    `**Roll back** to ${describe(report.previous)}: ${how}. Re-run with either input:`,
    '',
    codeBlock('yaml', [`image: ${report.previous.image}`]),
    '',
    codeBlock('yaml', ['rollback: true', `service: ${report.service}`])
  ].join('\n')
}
