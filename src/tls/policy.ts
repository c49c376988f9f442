// The TLS settings the action chose, in one place for the config, the deploy and the renewal.
// Light on purpose: a deploy loads it without the ACME client (rollout/tls.ts imports that late).
import type { CertificateRecord, OrderRecord } from './store.js'

const DAY_MS = 86_400_000

/** The default ACME directory. */
export const LETS_ENCRYPT = 'https://acme-v02.api.letsencrypt.org/directory'

/** HSTS max-age: one year, long enough that browsers keep it between visits, short of the two a preload list wants. */
export const HSTS_MAX_AGE = 31_536_000

/** Days before expiry from which a deploy (and the daily pass) gets a new certificate: Let's Encrypt's 90-day ones at two thirds. */
export const RENEW_WITHIN_DAYS = 30

/** Why the certificate installed for `order` must be replaced now, or undefined to keep it. */
export function renewalReason(order: Pick<OrderRecord, 'names' | 'directoryUrl'>, record: CertificateRecord | undefined, now: Date, withinDays = RENEW_WITHIN_DAYS): string | undefined {
  if (!record) return 'no certificate yet'
  const missing = order.names.filter((name) => !record.names.includes(name.toLowerCase()))
  if (missing.length > 0) return `it does not cover ${missing.join(', ')}`
  if (record.source !== 'auto' || record.directoryUrl !== order.directoryUrl) return `it is not from ${order.directoryUrl}`
  const left = daysUntil(record.notAfter, now)
  if (left < withinDays) return `${left.toFixed(1)} days left (renewed below ${withinDays})`
  return undefined
}

export function daysUntil(iso: string, now: Date): number {
  return (new Date(iso).getTime() - now.getTime()) / DAY_MS
}
