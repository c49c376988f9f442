import { outputsOf } from '../src/report/outputs.js'
import type { DeployReport } from '../src/report/report.js'
import { renderFailure, renderSummary } from '../src/report/summary.js'
import { code, codeBlock, text } from '../src/report/markdown.js'
import { tlsSection } from '../src/report/tls.js'
import { renderRolloutSummary } from '../src/report/rollout-summary.js'

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
    expect(rolledBack).toMatch(/^## web rolled back to `ghcr.io\/acme\/web:2.0.0` on green/)
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

// What a container, Docker or a tampered state.json on the host can put in front of the reader.
const HOSTILE = [
  '<img src=x onerror=alert(1)>',
  '[click](http://evil)',
  '![pixel](http://evil/p.png)',
  '<a href="http://evil">login</a>',
  '# Deploy succeeded',
  '| injected | row |',
  '**urgent**: visit http://evil.example.com or www.evil.example.com, mail a@evil.example.com',
  '```',
  '\u001b[31mred\u001b[0m &amp; &lt;b&gt;'
]

/** True when no character of `markdown` can start markup: each punctuation mark is escaped or an entity. */
const inert = (markdown: string): boolean => /^(?:[^!-/:-@[-`{-~]|\\[!-/:-@[-`{-~]|&(?:amp|lt|gt|quot);)*$/.test(markdown)

describe('escaping what the host and the app say', () => {
  it.each(HOSTILE)('shows %j as text in a failure', (line) => {
    const summary = renderFailure(`Health check of web-green failed: the container stopped\nLast log lines of web-green:\n${line}`)
    const quoted = summary.split('\n').filter((row) => row.startsWith('> ')).map((row) => row.slice(2))
    expect(quoted).toHaveLength(3)
    for (const row of quoted) expect(inert(row)).toBe(true)
    expect(summary).not.toMatch(/<[a-z]|\]\(|(?<!\\)\[|(?<!\\)`|\u001b/i)
  })

  it('keeps the escaped text readable: entities and backslashes only', () => {
    expect(text('<img src=x onerror=alert(1)>')).toBe('&lt;img src\\=x onerror\\=alert\\(1\\)&gt;')
    expect(text('[click](http://evil)')).toBe('\\[click\\]\\(http\\:\\/\\/evil\\)')
    expect(text('a\nb')).toBe('a b')
  })

  it('holds any value in one code span, on one line, that nothing inside can end', () => {
    expect(code('web:1')).toBe('`web:1`')
    expect(code('a`b``c')).toBe('```a`b``c```')
    expect(code('`x`')).toBe('`` `x` ``')
    expect(code('a|b', true)).toBe('`a\\|b`')
    expect(code('a\nb')).toBe('`a b`')
    expect(codeBlock('yaml', ['image: x', '```', 'y\nz'])).toBe('````yaml\nimage: x\n```\ny z\n````')
  })

  it('shows image names and IDs from the host state as code, in a table that keeps its rows', () => {
    const hostile = '<img src=x onerror=alert(1)>|[click](http://evil)\n| Injected | row |'
    const release = { ...report.replaced!, image: hostile, imageId: `sha256:${hostile}`, slot: '<b>blue</b>' as never }
    const summary = renderSummary({ ...report, replaced: release, previous: release, rollback: true, image: hostile, imageId: hostile })
    // Outside code spans and blocks, where Markdown and HTML are read, nothing of it is left.
    const outsideCode = summary.replace(/^(`{3,})yaml\n[\s\S]*?\n\1$/gm, '').replace(/(`+)(?!`).*?[^`]\1(?!`)/g, '')
    expect(outsideCode).not.toMatch(/<[a-z]|\]\(|`/i)
    expect(summary.split('\n').filter((line) => line.startsWith('| Injected'))).toEqual([])
    const table = summary.split('\n').filter((line) => line.startsWith('| '))
    expect(table.slice(0, 7).map((row) => row.split(/(?<!\\)\|/).length)).toEqual(Array(7).fill(4)) // | key | value |
    expect(summary).toContain('```yaml\nimage: <img src=x onerror=alert(1)>|[click](http://evil) | Injected | row |\n```')
  })
})

describe('job summary with HTTPS', () => {
  const record = (id: string, names: string[], notAfter: string, source: 'auto' | 'custom') => ({
    id, names, serial: '1f', notBefore: '2026-12-01T00:00:00.000Z', notAfter, issuer: 'CN=R11, O=Let\'s Encrypt, C=US', source, installedAt: ''
  })
  const tls = {
    mode: 'auto' as const, httpsPort: 443, hsts: true, action: 'renewed' as const, reason: '12.0 days left (renewed below 30)',
    certificates: [record('api', ['api.example.com'], '2027-01-01T00:00:00.000Z', 'custom'), record('web', ['shop.example.com', 'www.shop.example.com'], '2027-03-01T12:00:00.000Z', 'auto')],
    proxyGapMs: 430, renewal: 'renewal started (bluegreen-renew, bluegreen-renew:0123456789ab)'
  }

  it("shows what the run did with the service's certificate and every certificate's names and expiry date", () => {
    const summary = renderSummary({ ...report, tls }).split('\n')
    expect(summary).toContain(
      '**HTTPS:** port 443, TLS 1.2 and 1.3, HTTP redirected with 308, Strict-Transport-Security for a year; ' +
        'the certificate was renewed (12\\.0 days left \\(renewed below 30\\)). ' +
        'The proxy was recreated to publish port 443: new connections waited 430 ms. ' +
        'Renewal container: renewal started \\(bluegreen\\-renew\\, bluegreen\\-renew\\:0123456789ab\\).'
    )
    const rows = tlsSection(tls, new Date('2026-12-05T00:00:00Z'))
    expect(rows).toContain('| Certificate of | Names | Expires (UTC) | Days left | Issuer | Renewal |')
    expect(rows).toContain("| web | shop\\.example\\.com\\, www\\.shop\\.example\\.com | 2027-03-01 | 86 | CN\\=R11\\, O\\=Let\\'s Encrypt\\, C\\=US | ACME, renewed from 30 days left |")
    expect(rows).toContain("| api | api\\.example\\.com | 2027-01-01 | 27 | CN\\=R11\\, O\\=Let\\'s Encrypt\\, C\\=US | custom, not renewed |")
  })

  it("shows each host's certificates after a rollout", () => {
    const rollout = renderRolloutSummary({
      hosts: [{ target: 'deploy@a:22', result: 'live', report: { ...report, tls } }, { target: 'deploy@b:22', result: 'live', report: { ...report, tls } }],
      phases: []
    })
    expect(rollout.match(/^### HTTPS on `deploy@\w:22`$/gm)).toEqual(['### HTTPS on `deploy@a:22`', '### HTTPS on `deploy@b:22`'])
    expect(rollout.match(/^\| Certificate of \|/gm)).toHaveLength(2)
  })

  it('says when the certificate was kept, and shows no gap when the proxy already had the port', () => {
    const kept = tlsSection({ ...tls, action: 'kept', reason: undefined, proxyGapMs: undefined, renewal: undefined, hsts: false })
    expect(kept[1]).toBe('**HTTPS:** port 443, TLS 1.2 and 1.3, HTTP redirected with 308, no HSTS; the certificate was kept.')
  })
})

describe('outputs', () => {
  it('names what is live and what a rollback returns to', () => {
    expect(outputsOf(report)).toEqual({
      slot: 'green', 'previous-slot': 'blue', image: 'ghcr.io/acme/web:2.0.1', 'image-id': report.imageId,
      'previous-image': 'ghcr.io/acme/web:2.0.0', 'previous-image-id': report.replaced!.imageId, container: 'web-green',
      'transferred-bytes': '734003', 'skipped-layers': '4', releases: '[]'
    })
  })

  it('leaves previous outputs empty on a first deploy', () => {
    const first = outputsOf({ ...report, previous: undefined, replaced: undefined })
    expect(first['previous-slot']).toBe('')
    expect(first['previous-image']).toBe('')
  })
})
