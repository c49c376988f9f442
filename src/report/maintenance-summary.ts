import type { MaintenanceReport } from '../rollout/maintenance.js'
import { code, text } from './markdown.js'

/** The job summary of a maintenance step: what each host's clients get now. */
export function renderMaintenanceSummary(reports: MaintenanceReport[]): string {
  const [first] = reports
  const on = first?.on ?? false
  const rows = reports.map((report) => `| ${code(report.target, true)} | HTTP ${report.status}${report.page ? ', the maintenance page' : ''} |`)
  return [
    `## ${text(first?.service ?? '')}: maintenance ${on ? 'on' : 'off'}`,
    '',
    on
      ? 'Every request but the health path gets a 503 with `Retry-After` and the maintenance page. A deploy leaves it on; `maintenance: off` ends it.'
      : 'Requests reach the app again.',
    '',
    '| Host | A request for / now gets |',
    '|---|---|',
    ...rows,
    ''
  ].join('\n')
}
