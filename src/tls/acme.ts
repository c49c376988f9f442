// Gets a certificate for a list of names from an ACME CA (RFC 8555) with the HTTP-01 challenge,
// through acme-client. The caller serves the challenge (challenge.put/remove): on the runner
// through the proxy over SSH, in the renewal container as files in the proxy's webroot.
// Every wait is bounded: one deadline for the whole call, one timeout per request.
import { X509Certificate } from 'node:crypto'
import acme from 'acme-client'
import { runAcmeCall, type CallContext, type Problem } from './acme-http.js'
import { facts, missingNames, parsePemCertificates } from './certificate.js'

export interface Challenge {
  /** Serve keyAuthorization at http://<name>/.well-known/acme-challenge/<token>. */
  put(token: string, keyAuthorization: string): Promise<void>
  remove(token: string): Promise<void>
}

export interface ObtainOptions {
  directoryUrl: string
  names: string[]
  challenge: Challenge
  /** mailto: contact for the account (expiry mail from the CA). */
  email?: string
  /** PEM; reused when given (the CA finds the same account), else a new P-256 key is made. */
  accountKeyPem?: string
  /** PEM to trust for the directory's HTTPS (a private or test CA), besides Node's roots. */
  caBundle?: string
  /** Whole call (default 120 s) and each request (default 15 s). */
  timeoutMs?: number
  requestTimeoutMs?: number
  /** How often to ask the CA whether it validated or issued (default 500 ms). */
  pollMs?: number
  /**
   * The key the certificate is for; undefined: a new one. A renewal passes the installed one, so
   * that swapping the file is atomic for nginx (tls-key.sh says why).
   */
  certificateKeyPem?: string
  /** RFC 8555 7.4 notAfter. Let's Encrypt refuses it; pebble honours it (tests of renewal). */
  notAfter?: Date
  log?: (line: string) => void
}

export interface Obtained {
  /** Leaf first, then the intermediates, as the CA sent them. */
  certificatePem: string
  keyPem: string
  accountKeyPem: string
  accountUrl: string
  serial: string
  notAfter: Date
}

/** An ACME failure; `problem` is the CA's problem document when it sent one. */
export class AcmeError extends Error {
  constructor(message: string, readonly problem?: Problem) {
    super(message)
    this.name = 'AcmeError'
  }
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

export async function obtainCertificate(options: ObtainOptions): Promise<Obtained> {
  const names = [...new Set(options.names.map((name) => name.toLowerCase()))]
  if (names.length === 0) throw new Error('no names to get a certificate for')
  const timeoutMs = options.timeoutMs ?? 120_000
  const callOptions = { caBundle: options.caBundle, requestTimeoutMs: options.requestTimeoutMs ?? 15_000, timeoutMs }
  let step = `reading the directory ${options.directoryUrl}`
  const work = runAcmeCall(callOptions, async (call) => {
    try {
      return await obtain(options, names, call, (next) => (step = next))
    } catch (error) {
      throw explain(error, step, call, options)
    }
  })
  return withDeadline(work, timeoutMs + 1000, () => new AcmeError(`ACME: no answer within ${Math.round(timeoutMs / 1000)} s while ${step}`))
}

async function obtain(options: ObtainOptions, names: string[], call: CallContext, at: (step: string) => void): Promise<Obtained> {
  const log = options.log ?? (() => undefined)
  const accountKeyPem = options.accountKeyPem ?? (await acme.crypto.createPrivateEcdsaKey('P-256')).toString()
  const client = new acme.Client({ directoryUrl: options.directoryUrl, accountKey: accountKeyPem })
  at('creating or finding the ACME account')
  await ensureAccount(client, call, options.email, options.accountKeyPem !== undefined)
  at(`ordering a certificate for ${names.join(', ')}`)
  let order = await client.createOrder({
    identifiers: names.map((value) => ({ type: 'dns', value })),
    ...(options.notAfter ? { notAfter: options.notAfter.toISOString().replace(/\.\d+Z$/, 'Z') } : {})
  })
  log(`order ${order.url}: ${order.status}`)
  await authorize(client, order, options, at)
  at('finalizing the order')
  const [keyBuffer, csr] = await acme.crypto.createCsr(
    { altNames: names, ...(names[0].length <= 64 ? { commonName: names[0] } : {}) },
    options.certificateKeyPem
  )
  order = await client.finalizeOrder(order, csr)
  order = await pollOrder(client, order, options.pollMs ?? 500)
  at('downloading the certificate')
  const certificatePem = await client.getCertificate(order)
  const leaf = parsePemCertificates(certificatePem, 'the certificate from the CA')[0]
  return { certificatePem, keyPem: keyBuffer.toString(), accountKeyPem, accountUrl: client.getAccountUrl(), ...issued(leaf, names) }
}

// acme-client's createAccount() turns "this key has an account" into an update with the same data,
// which pebble refuses when it holds nothing to update ("Use POST-as-GET"). So a reused key first
// looks its account up (onlyReturnExisting), and only a new one agrees to the terms.
async function ensureAccount(client: Client, call: CallContext, email: string | undefined, reused: boolean): Promise<void> {
  const contact = email ? { contact: [`mailto:${email}`] } : {}
  if (reused) {
    try {
      await client.createAccount({ onlyReturnExisting: true })
      if (email) await client.updateAccount(contact)
      return
    } catch (error) {
      if (call.problems.at(-1)?.type !== 'urn:ietf:params:acme:error:accountDoesNotExist') throw error
    }
  }
  await client.createAccount({ termsOfServiceAgreed: true, ...contact })
}

function issued(leaf: X509Certificate, names: string[]): { serial: string; notAfter: Date } {
  const missing = missingNames(leaf, names)
  if (missing.length > 0) throw new AcmeError(`the CA issued a certificate that does not cover ${missing.join(', ')}`)
  const { serial, notAfter } = facts(leaf)
  return { serial, notAfter }
}

type Client = InstanceType<typeof acme.Client>
type Order = Awaited<ReturnType<Client['createOrder']>>
type Authorization = Awaited<ReturnType<Client['getAuthorizations']>>[number]

async function authorize(client: Client, order: Order, options: ObtainOptions, at: (step: string) => void): Promise<void> {
  const served: string[] = []
  try {
    for (const authz of await client.getAuthorizations(order)) {
      if (authz.status === 'valid') continue // the CA still trusts an earlier validation
      const challenge = authz.challenges.find((c) => c.type === 'http-01')
      if (!challenge) {
        const offered = authz.challenges.map((c) => c.type).join(', ')
        throw new AcmeError(`the CA offers no http-01 challenge for ${authz.identifier.value} (it offers ${offered || 'none'})`)
      }
      at(`serving the http-01 challenge for ${authz.identifier.value}`)
      await options.challenge.put(challenge.token, await client.getChallengeKeyAuthorization(challenge))
      served.push(challenge.token)
      at(`asking the CA to validate ${authz.identifier.value}`)
      await client.completeChallenge(challenge)
    }
    at(`waiting for the CA to validate ${order.identifiers.map((i) => i.value).join(', ')}`)
    await pollAuthorizations(client, order, options.pollMs ?? 500)
  } finally {
    for (const token of served) {
      await options.challenge.remove(token).catch((error: unknown) => options.log?.(`could not remove challenge ${token}: ${String(error)}`))
    }
  }
}

async function pollAuthorizations(client: Client, order: Order, pollMs: number): Promise<void> {
  for (;;) {
    const authzs = await client.getAuthorizations(order)
    const failed = authzs.find((a) => a.status !== 'valid' && a.status !== 'pending')
    if (failed) throw authorizationError(failed)
    if (authzs.every((a) => a.status === 'valid')) return
    await sleep(pollMs)
  }
}

function authorizationError(authz: Authorization): AcmeError {
  const challenge = authz.challenges.find((c) => c.error)
  const error = challenge?.error as { type?: string; detail?: string; status?: number } | undefined
  const name = authz.identifier.value
  if (!error) return new AcmeError(`the CA set the authorization for ${name} to ${authz.status} without saying why`)
  const problem: Problem = { status: error.status ?? 0, type: error.type ?? '', detail: error.detail ?? '', url: challenge?.url ?? '' }
  return new AcmeError(`the CA could not validate ${name} (${challenge?.type}): ${problem.type}: ${problem.detail}`, problem)
}

async function pollOrder(client: Client, order: Order, pollMs: number): Promise<Order> {
  for (;;) {
    if (order.status === 'valid') return order
    if (order.status === 'invalid') {
      const error = (order as { error?: { type?: string; detail?: string } }).error
      throw new AcmeError(`the CA set the order to invalid: ${error?.type ?? 'no type'}: ${error?.detail ?? 'no detail'}`)
    }
    await sleep(pollMs)
    order = await client.getOrder(order)
  }
}

/** The error to throw: what failed, at which step, and what the CA (or the network) said. */
function explain(error: unknown, step: string, call: CallContext, options: ObtainOptions): Error {
  if (error instanceof AcmeError) return new AcmeError(`ACME ${step}: ${error.message}`, error.problem)
  const message = error instanceof Error ? error.message : String(error)
  const problem = call.problems.at(-1)
  if (problem && (message === problem.detail.replace(/\n/g, '') || message.includes(problem.type))) {
    return new AcmeError(`ACME ${step}: the CA answered ${problem.status} ${problem.type}: ${problem.detail}`, problem)
  }
  const network = call.networkErrors.at(-1)
  const code = network?.code ?? (error as { code?: string }).code ?? ''
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER/.test(code)) {
    const hint = options.caBundle ? 'acme-ca-bundle does not hold the CA that signed it' : 'give that CA as PEM in acme-ca-bundle'
    return new AcmeError(`acme-directory: the HTTPS certificate of ${options.directoryUrl} is not trusted (${code}); ${hint}`)
  }
  if (network) {
    return new AcmeError(`ACME ${step}: could not reach ${options.directoryUrl} (acme-directory): ${network.message}`)
  }
  // acme-client's TypeError for a request that got no response at all: the timeout fired.
  if (error instanceof TypeError && call.lastUrl) {
    return new AcmeError(`ACME ${step}: no answer from ${call.lastUrl} within ${Math.round(call.requestTimeoutMs / 1000)} s`)
  }
  return new AcmeError(`ACME ${step}: ${message}`)
}

function withDeadline<T>(work: Promise<T>, ms: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), ms)
  })
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer))
}
