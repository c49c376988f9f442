// acme-client sends every request through one module-wide axios instance. This file gives each
// obtainCertificate() call its own settings on it, through AsyncLocalStorage rather than axios'
// global defaults: the CA bundle to trust, a timeout per request, a deadline for the whole call,
// and a record of the problem documents (RFC 7807) the CA answered, because acme-client's own
// errors keep only their `detail` and we want to quote the `type` too.
import { AsyncLocalStorage } from 'node:async_hooks'
import { Agent } from 'node:https'
import type { Socket } from 'node:net'
import { rootCertificates } from 'node:tls'
import acme from 'acme-client'
import { parsePemCertificates } from './certificate.js'

export interface Problem {
  status: number
  type: string
  detail: string
  url: string
}

export interface CallContext {
  agent: Agent
  /** Socket errors (refused, reset, untrusted certificate) in the order they came. */
  networkErrors: NodeJS.ErrnoException[]
  /** The last request started, for a timeout's message. */
  lastUrl?: string
  requestTimeoutMs: number
  /** Date.now() past which no request starts. */
  deadline: number
  problems: Problem[]
}

const calls = new AsyncLocalStorage<CallContext>()
let installed = false

type Config = Parameters<Parameters<typeof acme.axios.interceptors.request.use>[0] & object>[0]

function withCallSettings(config: Config): Config {
  const call = calls.getStore()
  if (!call) return config
  const left = call.deadline - Date.now()
  // Without a config on it, acme-client's retry interceptor passes this error on untouched.
  if (left <= 0) throw new Error('the ACME call ran out of time')
  call.lastUrl = config.url
  config.httpsAgent = call.agent
  config.timeout = Math.min(call.requestTimeoutMs, left)
  return config
}

function recordProblem(response: { status: number; headers: Record<string, unknown>; data: unknown; config: { url?: string } }): void {
  const call = calls.getStore()
  const data = response.data as { type?: unknown; detail?: unknown } | undefined
  if (!call || response.status < 400 || typeof data?.type !== 'string') return
  call.problems.push({ status: response.status, type: data.type, detail: String(data.detail ?? ''), url: response.config.url ?? '' })
}

/** Once per process. Also bounds acme-client's own retries of refused connections and 5xx. */
function install(): void {
  if (installed) return
  installed = true
  acme.axios.interceptors.request.use(withCallSettings)
  // acme-client validates statuses in its own response interceptor, so every response, good or
  // bad, passes this one first.
  acme.axios.interceptors.response.use((response) => {
    recordProblem(response as never)
    return response
  })
  // Defaults are 5 attempts 5, 10, 15, 20, 25 s apart: 75 s before a stopped CA is reported.
  // A Retry-After from the CA still wins over the default delay.
  const settings = (acme.axios.defaults as unknown as { acmeSettings: { retryMaxAttempts: number; retryDefaultDelay: number } }).acmeSettings
  settings.retryMaxAttempts = 2
  settings.retryDefaultDelay = 1
}

export interface CallOptions {
  /** Extra PEM certificates to trust for the directory's HTTPS, besides Node's bundled roots. */
  caBundle?: string
  requestTimeoutMs: number
  timeoutMs: number
}

// acme-client 5.4 turns a request that got no response (refused, timed out, TLS failure) into a
// TypeError of its own, so the socket's own error is recorded here to say what happened.
function recordingAgent(ca: string[] | undefined, errors: NodeJS.ErrnoException[]): Agent {
  // keepAlive: a dozen requests to one CA; a fresh TLS handshake each costs more than they do.
  const agent = new Agent({ ca, keepAlive: true, maxSockets: 4 })
  const create = (agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection.bind(agent)
  ;(agent as unknown as { createConnection: (...args: unknown[]) => Socket }).createConnection = (...args: unknown[]) => {
    const socket = create(...args)
    socket.on('error', (error: NodeJS.ErrnoException) => errors.push(error))
    return socket
  }
  return agent
}

/** Runs fn with this call's settings on every ACME request it makes; returns it with its context. */
export function runAcmeCall<T>(options: CallOptions, fn: (call: CallContext) => Promise<T>): Promise<T> {
  install()
  // One entry per certificate: a bundle pasted or concatenated without a newline between two
  // certificates ("-----END CERTIFICATE----------BEGIN ...") is not read whole by OpenSSL.
  const ca = options.caBundle ? [...rootCertificates, ...parsePemCertificates(options.caBundle, 'acme-ca-bundle').map((c) => c.toString())] : undefined
  const networkErrors: NodeJS.ErrnoException[] = []
  const call: CallContext = {
    agent: recordingAgent(ca, networkErrors),
    networkErrors,
    requestTimeoutMs: options.requestTimeoutMs,
    deadline: Date.now() + options.timeoutMs,
    problems: []
  }
  return calls.run(call, async () => {
    try {
      return await fn(call)
    } finally {
      call.agent.destroy()
    }
  })
}
