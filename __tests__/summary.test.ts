import { outputsOf } from '../src/report/outputs.js'
import type { DeployReport } from '../src/report/report.js'
import { renderFailure, renderSummary } from '../src/report/summary.js'

const report: DeployReport = {
  service: 'web',
  target: 'deploy@203.0.113.7:22',
  network: 'bluegreen',
  proxyPort: 80,
  serverNames: ['shop.example.com'],
  slot: 'green',
  container: 'web-green',
  image: 'ghcr.io/acme/web:2.0.1',
  imageId: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  appPort: 8080,
  replaced: {
    slot: 'blue', container: 'web-blue', image: 'ghcr.io/acme/web:2.0.0',
    imageId: 'sha256:60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752', appPort: 8080, deployedAt: '2026-11-20T10:00:00.000Z'
  },
  rollback: false,
  recovered: false,
  transfer: {
    source: 'sent', sentBytes: 734_003, archiveBytes: 91_226_112, imageBytes: 90_177_536, skippedLayers: 4,
    totalLayers: 5, codec: 'gzip', durationMs: 1840
  },
  healthAttempts: 3,
  drainOpenConnections: 0,
  reloaded: false,
  pruned: [],
  phases: [
    { name: 'connect', ms: 140 }, { name: 'check', ms: 220 }, { name: 'lock', ms: 30 }, { name: 'state', ms: 60 },
    { name: 'transfer', ms: 1840 }, { name: 'proxy', ms: 90 }, { name: 'candidate', ms: 410 }, { name: 'health', ms: 950 },
    { name: 'switch', ms: 260 }, { name: 'record', ms: 40 }, { name: 'retire', ms: 1300 }
  ]
}
report.previous = report.replaced

describe('job summary', () => {
  it('renders what went live, the transfer, each phase and both rollback inputs', () => {
    expect(renderSummary(report)).toMatchSnapshot()
  })

  it('says what a rollback went back to', () => {
    const rolledBack = renderSummary({
      ...report, rollback: true, image: 'ghcr.io/acme/web:2.0.0',
      transfer: { ...report.transfer, source: 'rollback', sentBytes: 0 }
    })
    expect(rolledBack).toMatch(/^## web rolled back to ghcr.io\/acme\/web:2.0.0 on green/)
    expect(rolledBack).toContain("the previous release's image (86.0 MiB) was still on the host; nothing sent.")
  })

  it('says when the host had the image under another name', () => {
    const tagged = renderSummary({ ...report, transfer: { ...report.transfer, source: 'tagged', sentBytes: 0 } })
    expect(tagged).toContain('already on the host under another name (86.0 MiB); tagged, nothing sent.')
  })

  it('quotes a failure', () => {
    expect(renderFailure('Health check failed\nThe host is as before')).toBe('## Deploy failed\n\n> Health check failed\n> The host is as before\n')
  })
})

describe('outputs', () => {
  it('names what is live and what a rollback returns to', () => {
    expect(outputsOf(report)).toEqual({
      slot: 'green', 'previous-slot': 'blue', image: 'ghcr.io/acme/web:2.0.1', 'image-id': report.imageId,
      'previous-image': 'ghcr.io/acme/web:2.0.0', 'previous-image-id': report.replaced!.imageId, container: 'web-green',
      'transferred-bytes': '734003', 'skipped-layers': '4'
    })
  })

  it('leaves previous outputs empty on a first deploy', () => {
    const first = outputsOf({ ...report, previous: undefined, replaced: undefined })
    expect(first['previous-slot']).toBe('')
    expect(first['previous-image']).toBe('')
  })
})
