import { rootCertificates } from 'node:tls'
import type { Host } from '../host/index.js'
import type { ServiceTls } from '../host/nginx-config.js'
import { renewName } from '../host/paths.js'
import type { ProxyCheck } from '../host/proxy.js'
import type { Inputs } from '../inputs.js'
import type { TlsReport } from '../report/report.js'
import { checkCertificate } from '../tls/certificate.js'
import { imageArch } from '../tls/renew-image.js'
import { certificateRecord, type CertificateRecord, type OrderRecord } from '../tls/store.js'
import type { CodecChoice } from '../transfer/compression.js'
import { RENEW_WITHIN_DAYS, renewalReason } from '../tls/policy.js'
import { ensureRenewal } from './renewal.js'

// A deploy's TLS stage, after the route and before the release command and the candidate: the
// service's certificate is obtained (tls: auto, from the CA over HTTP-01, the answer served by the
// proxy from its webroot) or taken from the inputs (custom), verified (chain and names) and
// installed, under the store's lock, so the renewal container's pass never runs at the same time.
// The route written just before serves the CA's request and keeps HTTP on the app until the
// certificate exists, so a failure here leaves a live service serving as before (HTTPS with its
// current certificate, if it had one), and a first deploy fails before it takes any traffic.

/** How long a deploy waits for a renewal pass that holds the store's lock. */
const LOCK_WAIT_SECONDS = 300

export interface TlsDeps {
  inputs: Inputs
  host: Host
  /** The proxy as the survey under the lock saw it, before the proxy stage. */
  proxy: ProxyCheck
  codec: () => CodecChoice
  log: (line: string) => void
  /** A warning in the step's log (a custom certificate that runs out soon). */
  warn?: (line: string) => void
  spoolDir?: string
  signal?: AbortSignal
}

/** What the service's proxy config needs of HTTPS (undefined: none). */
export function serviceTls(inputs: Inputs): ServiceTls | undefined {
  return inputs.tls.mode === 'off' ? undefined : { httpsPort: inputs.tls.httpsPort, hsts: inputs.tls.hsts }
}

/** Refused before the host changes: a host the renewal container's image cannot run on. */
export function tlsProblems(inputs: Inputs, host: Host): string[] {
  if (inputs.tls.mode !== 'auto') return []
  const arch = host.facts.platform?.arch
  if (!arch || arch === imageArch()) return []
  return [
    `tls: auto renews certificates in a container built from the runner's own Node (linux/${imageArch()}), ` +
      `but the host runs linux/${arch}; run the job on a linux/${arch} runner, or use tls: custom`
  ]
}

/** The stage: certificate, proxy with the HTTPS port, renewal container. */
export async function prepareTls(deps: TlsDeps): Promise<TlsReport | undefined> {
  const { inputs, host } = deps
  const { tls, network } = inputs
  if (tls.mode === 'off') return undefined
  const lock = await host.tls.lock(network, LOCK_WAIT_SECONDS)
  let outcome: Omit<TlsReport, 'renewal'>
  let owner: string
  try {
    const state = await host.tls.state(network)
    if (!state.owner) throw new Error(`Could not tell which user the nginx workers of the proxy run as (they read the keys); is the proxy running?`)
    owner = state.owner
    outcome = await certificateStep(deps, state.records, owner)
    if (tls.mode === 'auto' && outcome.action === 'kept') await keepOrder(deps, state.orders)
  } finally {
    await lock.release()
  }
  if (tls.mode === 'custom') warnExpiring(deps)
  const renewal = tls.mode === 'auto' ? await ensureRenewal(deps, owner) : undefined
  if (renewal) deps.log(`Renewal container ${renewName(network)}: ${renewal}`)
  return { ...outcome, renewal }
}

async function certificateStep(deps: TlsDeps, records: CertificateRecord[], owner: string): Promise<Omit<TlsReport, 'renewal'>> {
  const { inputs, host, log } = deps
  const { tls, network, service } = inputs
  const current = records.find((record) => record.id === service)
  const decided = tls.mode === 'auto' ? autoReason(inputs, current) : customReason(inputs, current)
  let installed = current
  let action: TlsReport['action'] = 'kept'
  let pending: Omit<Parameters<Host['tls']['install']>[1], 'owner'> | undefined
  if (decided) {
    log(`TLS certificate for ${inputs.serverNames.join(', ') || 'any host name'}: ${decided}`)
    pending = tls.mode === 'auto' ? await obtain(deps, current) : customInstall(inputs)
    installed = pending.record
    action = tls.mode === 'custom' ? 'installed' : current ? 'renewed' : 'issued'
  } else if (current) {
    log(`TLS certificate of ${service} kept: serial ${current.serial}, valid until ${current.notAfter}`)
  }
  // The HTTPS port first, the certificate second: its arrival turns on the redirect from HTTP.
  const recreated = await publishHttps(deps)
  if (pending) {
    await host.tls.install(network, { ...pending, owner })
    log(`Installed the certificate of ${service} (serial ${pending.record.serial}, until ${pending.record.notAfter}); nginx serves it from the next handshake, without a reload`)
  }
  const all = [...records.filter((record) => record.id !== service), ...(installed ? [installed] : [])]
  return {
    mode: tls.mode as 'auto' | 'custom', httpsPort: tls.httpsPort, hsts: tls.hsts, action, reason: decided,
    service: installed, certificates: all.sort((a, b) => a.id.localeCompare(b.id)), proxyGapMs: recreated
  }
}

/** A kept certificate stays renewed: its order is there and as the inputs say (names, CA, contact). */
async function keepOrder(deps: TlsDeps, orders: OrderRecord[]): Promise<void> {
  const order = orderOf(deps.inputs)
  const current = orders.find((candidate) => candidate.id === order.id)
  if (current && JSON.stringify(current) === JSON.stringify(order)) return
  await deps.host.tls.saveOrder(deps.inputs.network, order)
  deps.log(`Renewal order of ${order.id} ${current ? 'updated' : 'restored'}`)
}

function orderOf(inputs: Inputs): OrderRecord {
  const { tls, service, serverNames } = inputs
  return {
    id: service, names: serverNames, directoryUrl: tls.directoryUrl, ...(tls.email ? { email: tls.email } : {}),
    ...(tls.caBundle ? { caBundle: tls.caBundle } : {})
  }
}

/** Nobody renews a custom certificate: say so while there is time to give a new one. */
function warnExpiring(deps: TlsDeps): void {
  const notAfter = deps.inputs.tls.custom?.notAfter
  if (!notAfter) return
  const left = (notAfter.getTime() - Date.now()) / 86_400_000
  if (left >= RENEW_WITHIN_DAYS) return
  const warn = deps.warn ?? deps.log
  warn(`tls-certificate expires on ${notAfter.toISOString().slice(0, 10)} (${left.toFixed(1)} days left); the action cannot renew a custom certificate: give a new one`)
}

/** Why tls: auto needs a new certificate now (none, other names, another CA, due), or undefined. */
function autoReason(inputs: Inputs, current: CertificateRecord | undefined): string | undefined {
  return renewalReason({ names: inputs.serverNames, directoryUrl: inputs.tls.directoryUrl }, current, new Date())
}

function customReason(inputs: Inputs, current: CertificateRecord | undefined): string | undefined {
  const given = inputs.tls.custom
  if (!given) return 'the certificate from tls-certificate'
  if (current?.source === 'custom' && current.serial === given.serial && sameNames(current.names, inputs.serverNames)) return undefined
  return current ? `tls-certificate holds another certificate (serial ${given.serial})` : 'no certificate yet'
}

const sameNames = (a: string[], b: string[]): boolean => a.join(' ') === b.map((name) => name.toLowerCase()).join(' ')

function customInstall(inputs: Inputs): { id: string; record: CertificateRecord; keyPem: string; chainPem: string } {
  const { tls, service, serverNames } = inputs
  if (!tls.custom || !tls.keyPem || !tls.certificatePem) throw new Error('tls-certificate: required with tls: custom')
  return { id: service, record: certificateRecord(service, serverNames, tls.custom, 'custom'), keyPem: tls.keyPem, chainPem: tls.certificatePem }
}

/** An ACME order on the runner; the CA's HTTP-01 request reaches the proxy's webroot on the host. */
async function obtain(deps: TlsDeps, current: CertificateRecord | undefined): Promise<{ id: string; record: CertificateRecord; keyPem: string; chainPem: string; order: OrderRecord }> {
  const { inputs, host, log } = deps
  const { tls, network, service, serverNames } = inputs
  const accountKeyPem = await host.tls.accountKey(network, tls.directoryUrl)
  const names = serverNames.join(', ')
  // A renewal keeps the key (tls-key.sh says why); a custom certificate's key is not reused.
  const certificateKeyPem = current?.source === 'auto' ? await host.tls.certificateKey(network, service) : undefined
  // Loaded here, not at the top: the ACME client and its HTTP stack cost every deploy ~0.1 s to load.
  const { obtainCertificate } = await import('../tls/acme.js')
  const got = await obtainCertificate({
    directoryUrl: tls.directoryUrl, names: serverNames, email: tls.email, caBundle: tls.caBundle, accountKeyPem, certificateKeyPem,
    challenge: host.tls.challenge(network), log: (line) => log(`ACME: ${line}`)
  }).catch((error: Error) => {
    throw new Error(`tls: could not get a certificate for ${names} from ${tls.directoryUrl}: ${error.message}`)
  })
  if (got.accountKeyPem !== accountKeyPem) await host.tls.saveAccountKey(network, tls.directoryUrl, got.accountKeyPem)
  const roots = [...rootCertificates, tls.caBundle ?? ''].filter(Boolean)
  const facts = checkCertificate({ chainPem: got.certificatePem, rootsPem: roots, names: serverNames, input: `the certificate ${tls.directoryUrl} issued` })
  const record = certificateRecord(service, serverNames, facts, 'auto', tls.directoryUrl)
  return { id: service, record, keyPem: got.keyPem, chainPem: got.certificatePem, order: orderOf(inputs) }
}

/** A proxy that runs without the HTTPS port gets it, once, by being recreated (a short gap). */
async function publishHttps(deps: TlsDeps): Promise<number | undefined> {
  const { inputs, host, proxy, log } = deps
  if (proxy.status === 'missing' || proxy.publishedHttpsPort !== undefined) return undefined
  log(`The proxy does not publish port ${inputs.tls.httpsPort} yet: recreating it with both ports (a short gap)`)
  const { gapMs, stoppedMs, startedMs } = await host.tls.recreateProxy(inputs.network, inputs.proxyPort, inputs.tls.httpsPort)
  const parts = stoppedMs !== undefined && startedMs !== undefined
    ? ` (the old nginx was gone after ${stoppedMs} ms, the new container started by ${startedMs} ms)`
    : ''
  log(`The proxy was recreated with HTTPS on port ${inputs.tls.httpsPort}: new connections waited ${gapMs} ms${parts}`)
  return gapMs
}
