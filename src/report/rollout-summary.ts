import { mib, seconds } from './format.js'
import { code, text } from './markdown.js'
import type { HostOutcome, RolloutReport } from './report.js'
import { transferLine } from './summary.js'
import { tlsSection } from './tls.js'

// Several hosts: one row per host (what it serves now, what travelled to it, how long each of
// its phases took), then the first live host's details, as for one host.

export function renderRolloutSummary(rollout: RolloutReport, failure?: string): string {
  const live = rollout.hosts.filter((host) => host.result === 'live').length
  const heading = failure ? `## Deploy failed on ${rollout.hosts.length - live} of ${rollout.hosts.length} hosts` : `## Live on ${live} hosts`
  return [
    heading,
    '',
    ...(failure ? [failure.split('\n').map((line) => `> ${text(line)}`).join('\n'), ''] : []),
    hostTable(rollout.hosts),
    '',
    phaseTable(rollout),
    '',
    ...details(rollout.hosts)
  ].join('\n')
}

function hostTable(hosts: HostOutcome[]): string {
  return [
    '| Host | Result | Slot | Image | Sent |',
    '|---|---|---|---|---:|',
    ...hosts.map((host) => {
      const report = host.report
      const result = host.error ? `${host.result}: ${text(host.error.split('\n')[0])}` : host.result
      return `| ${code(host.target, true)} | ${result} | ${report ? text(report.slot) : ''} | ${report ? code(report.image, true) : ''} | ${report ? mib(report.transfer.sentBytes) : ''} |`
    })
  ].join('\n')
}

/** Each host's phases side by side: where a slow host spent its time. */
function phaseTable(rollout: RolloutReport): string {
  const names = [...new Set(rollout.phases.flatMap((host) => host.times.map((time) => time.name)))]
  const header = `| Phase | ${rollout.phases.map((host) => code(host.target, true)).join(' | ')} |`
  const rows = names.map((name) => {
    const cells = rollout.phases.map((host) => {
      const ms = host.times.filter((time) => time.name === name).reduce((sum, time) => sum + time.ms, 0)
      return ms ? seconds(ms) : ''
    })
    return `| ${name} | ${cells.join(' | ')} |`
  })
  return [header, `|---|${rollout.phases.map(() => '---:').join('|')}|`, ...rows].join('\n')
}

function details(hosts: HostOutcome[]): string[] {
  const first = hosts.find((host) => host.report)?.report
  if (!first) return []
  return [`**Image on ${code(hosts.find((host) => host.report)!.target)}:** ${transferLine(first.transfer)}`, ...certificates(hosts)]
}

/** Each host's certificates (tls: custom gives them all the same one, each host's proxy serves it). */
function certificates(hosts: HostOutcome[]): string[] {
  return hosts.flatMap(({ target, report }) => (report?.tls ? ['', `### HTTPS on ${code(target)}`, ...tlsSection(report.tls)] : []))
}
