import type { CertificateRecord } from '../tls/store.js'
import { seconds } from './format.js'
import { code, text } from './markdown.js'
import type { TlsReport } from './report.js'

// The job summary's HTTPS part: what this run did with the service's certificate, and every
// certificate the proxy serves with its names and expiry date, so a reviewer sees one that is
// running out (for a custom certificate, which nobody renews) at a glance.

const DAY_MS = 86_400_000

function did(tls: TlsReport): string {
  const reason = tls.reason ? ` (${text(tls.reason)})` : ''
  switch (tls.action) {
    case 'issued':
      return `a certificate was issued${reason}`
    case 'renewed':
      return `the certificate was renewed${reason}`
    case 'installed':
      return `the certificate of ${code('tls-certificate')} was installed${reason}`
    default:
      return 'the certificate was kept'
  }
}

function row(record: CertificateRecord, now: Date): string {
  const left = Math.floor((new Date(record.notAfter).getTime() - now.getTime()) / DAY_MS)
  const how = record.source === 'auto' ? 'ACME, renewed from 30 days left' : 'custom, not renewed'
  const date = record.notAfter.slice(0, 10)
  return `| ${text(record.id)} | ${text(record.names.join(', ') || 'any host name')} | ${/^\d{4}-\d\d-\d\d$/.test(date) ? date : text(date)} | ${left} | ${text(record.issuer)} | ${how} |`
}

export function tlsSection(tls: TlsReport, now = new Date()): string[] {
  const hsts = tls.hsts ? 'Strict-Transport-Security for a year' : 'no HSTS'
  const gap = tls.proxyGapMs === undefined
    ? ''
    : ` The proxy was recreated to publish port ${tls.httpsPort}: new connections waited ${seconds(tls.proxyGapMs)}.`
  const renewal = tls.renewal ? ` Renewal container: ${text(tls.renewal)}.` : ''
  return [
    '',
    `**HTTPS:** port ${tls.httpsPort}, TLS 1.2 and 1.3, HTTP redirected with 308, ${hsts}; ${did(tls)}.${gap}${renewal}`,
    '',
    '| Certificate of | Names | Expires (UTC) | Days left | Issuer | Renewal |',
    '|---|---|---|---:|---|---|',
    ...tls.certificates.map((record) => row(record, now))
  ]
}
