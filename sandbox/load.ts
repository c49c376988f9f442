// HTTP load against the deployed app through the proxy, to count dropped requests during a switch.
// Every loop stops at maxRequests or maxMs, whichever comes first, and only 127.0.0.1 is a target.
// An https:// URL is HTTPS, verified against `ca` for the name in `host` (sent as SNI): a failed
// handshake or verification counts as a failed request, and as a TLS error.
import http from 'node:http'
import https from 'node:https'

export interface LoadOptions {
  url: string
  /** Host header (e.g. for an nginx server_name); default from the URL. */
  host?: string
  /** Pause between requests of one worker; default 0. */
  intervalMs?: number
  /** Parallel workers; default 1. */
  concurrency?: number
  /** Hard bound on requests sent, all workers together. */
  maxRequests: number
  /** Hard bound on wall time. */
  maxMs: number
  /** Per-request timeout; default 10 s. */
  requestTimeoutMs?: number
  /**
   * Reuse connections, as browsers, CDNs and load balancers do: HTTP/1.1 keep-alive through a
   * pool of `concurrency` sockets. A request on a reused socket that the server closed under it
   * fails (Node, like most clients, does not retry it). Default: a new connection per request.
   */
  keepAlive?: boolean
  /** https:// only: the PEM roots to verify the proxy's certificate against (default: Node's). */
  ca?: string
  /** Statuses that count as answered, besides 2xx (such as 308, HTTP's redirect to HTTPS). */
  alsoOk?: number[]
}

export interface LoadStats {
  sent: number
  /** 2xx responses. */
  ok: number
  /** Anything else: non-2xx or no response at all. */
  failed: number
  /** Count by status code, `error` for no response. */
  statuses: Record<string, number>
  /** The first few failures, for the test's message. */
  errors: string[]
  /** Count by the first line of the response body, e.g. `version=1`. */
  bodies: Record<string, number>
  /** Count by the x-bluegreen-slot response header, when present. */
  slots: Record<string, number>
  durationMs: number
  maxLatencyMs: number
  /** Requests sent on a connection an earlier request had used (keep-alive). */
  reused: number
  /** Failures of the TLS handshake or of the certificate's verification (https:// only). */
  tlsErrors: number
  /** The longest time between two answered requests (any worker): what a client waited at worst. */
  longestGapMs: number
  /** From the first failed request's start to the last one's end: when clients saw failures. */
  failureWindowMs: number
  /** When each failed request started, in ms since the load began (the first 5000). */
  failuresAtMs: number[]
}

export interface LoadHandle {
  /** Stops sending, waits for requests in flight, returns the totals. */
  stop(): Promise<LoadStats>
  /** Resolves when a bound (maxRequests or maxMs) ended the run, or after stop(). */
  done: Promise<LoadStats>
  /** Totals so far. */
  snapshot(): LoadStats
}

export interface Reply {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

const MAX_ERRORS = 10
const MAX_BODY = 64 * 1024

/** One GET on a fresh connection (agent: false), so every request can land on a new upstream. */
export function httpGet(url: string, opts: { host?: string; timeoutMs?: number; ca?: string } = {}): Promise<Reply> {
  return httpRequest('GET', url, opts)
}

export interface RequestOptions {
  /** Host header (e.g. for an nginx server_name); default from the URL. */
  host?: string
  timeoutMs?: number
  /** Sent with a Content-Length. */
  body?: string
  headers?: http.OutgoingHttpHeaders
  /** A keep-alive pool to send it through; default a fresh connection. */
  agent?: http.Agent
  /** Told whether the request went out on a connection used before. */
  onSocket?: (reused: boolean) => void
  /** https:// only: PEM roots to verify against; the SNI and the name checked are `host`. */
  ca?: string
}

/** The module and TLS options for a URL: https:// verifies the certificate for the Host header's name. */
function transport(url: string, opts: RequestOptions): { request: typeof http.request; tls: https.RequestOptions } {
  if (!url.startsWith('https:')) return { request: http.request, tls: {} }
  return { request: https.request, tls: { ca: opts.ca, servername: opts.host } }
}

/** A keep-alive pool for the URL's scheme. */
export function keepAliveAgent(url: string, sockets: number, ca?: string): http.Agent {
  const options = { keepAlive: true, maxSockets: sockets, maxFreeSockets: sockets }
  return url.startsWith('https:') ? new https.Agent({ ...options, ca }) : new http.Agent(options)
}

/** A failure of the handshake or of the certificate's check, not of HTTP or the connection. */
export function isTlsError(error: { message: string; code?: unknown }): boolean {
  const code = typeof error.code === 'string' ? error.code : ''
  return /SSL|TLS|CERT|EPROTO|UNABLE_TO|SELF_SIGNED/.test(code) || /before secure TLS connection|certificate|SSL alert|ssl3_|tls_/i.test(error.message)
}

/** One request on a fresh connection (agent: false); resolves with any status, rejects on no response. */
export function httpRequest(method: string, url: string, opts: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const headers: http.OutgoingHttpHeaders = { ...opts.headers }
    if (opts.host) headers.host = opts.host
    if (opts.body !== undefined) headers['content-length'] = Buffer.byteLength(opts.body)
    const { request, tls } = transport(url, opts)
    const req = request(url, { method, agent: opts.agent ?? false, headers, ...tls }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (s: string) => {
        if (body.length < MAX_BODY) body += s
      })
      res.on('end', () => {
        clearTimeout(timer)
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body })
      })
      res.on('error', fail)
      // A reset mid-body ends with 'close' and no 'end'; settling twice is a no-op.
      res.on('close', () => fail(new Error('connection closed before the response ended')))
    })
    const timeoutMs = opts.timeoutMs ?? 10_000
    const timer = setTimeout(() => req.destroy(new Error(`timeout after ${timeoutMs} ms`)), timeoutMs)
    function fail(e: Error): void {
      clearTimeout(timer)
      reject(e)
    }
    req.on('error', fail)
    if (opts.onSocket) req.on('socket', () => opts.onSocket?.(req.reusedSocket))
    req.end(opts.body)
  })
}

function emptyStats(): LoadStats {
  return { sent: 0, ok: 0, failed: 0, statuses: {}, errors: [], bodies: {}, slots: {}, durationMs: 0, maxLatencyMs: 0, reused: 0, tlsErrors: 0, longestGapMs: 0, failureWindowMs: 0, failuresAtMs: [] }
}

function bump(map: Record<string, number>, key: string): void {
  map[key] = (map[key] ?? 0) + 1
}

function record(stats: LoadStats, reply: Reply | Error, latencyMs: number, alsoOk: number[] = []): void {
  stats.maxLatencyMs = Math.max(stats.maxLatencyMs, latencyMs)
  // Not instanceof Error: under jest the errors of Node's http module come from another realm.
  if (!('headers' in reply)) {
    stats.failed++
    if (isTlsError(reply as Error & { code?: unknown })) stats.tlsErrors++
    bump(stats.statuses, 'error')
    if (stats.errors.length < MAX_ERRORS) stats.errors.push(reply.message)
    return
  }
  bump(stats.statuses, String(reply.status))
  bump(stats.bodies, reply.body.split('\n')[0] ?? '')
  const slot = reply.headers['x-bluegreen-slot']
  if (typeof slot === 'string') bump(stats.slots, slot)
  if ((reply.status >= 200 && reply.status < 300) || alsoOk.includes(reply.status)) {
    stats.ok++
  } else {
    stats.failed++
    if (stats.errors.length < MAX_ERRORS) stats.errors.push(`HTTP ${reply.status}: ${reply.body.split('\n')[0] ?? ''}`)
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Starts `concurrency` workers that GET `url` until stopped or a bound is hit. */
export function startLoad(opts: LoadOptions): LoadHandle {
  if (!(opts.maxRequests > 0) || !(opts.maxMs > 0)) throw new Error('startLoad: maxRequests and maxMs must be positive')
  const stats = emptyStats()
  const started = Date.now()
  const deadline = started + opts.maxMs
  const concurrency = Math.max(1, opts.concurrency ?? 1)
  // A browser-like pool: one socket per worker, kept open between requests (nginx's default
  // keepalive_timeout is 75 s, longer than any loop here).
  const agent = opts.keepAlive ? keepAliveAgent(opts.url, concurrency, opts.ca) : undefined
  const onSocket = (reused: boolean): void => void (reused && stats.reused++)
  let stopped = false
  let lastAnswer = Date.now()
  let firstFailure: number | undefined

  const worker = async (): Promise<void> => {
    while (!stopped && stats.sent < opts.maxRequests && Date.now() < deadline) {
      stats.sent++
      const t0 = Date.now()
      const request = { host: opts.host, timeoutMs: opts.requestTimeoutMs, agent, onSocket, ca: opts.ca }
      const reply = await httpRequest('GET', opts.url, request).catch((e: Error) => e)
      const okBefore = stats.ok
      record(stats, reply, Date.now() - t0, opts.alsoOk)
      if (stats.ok > okBefore) {
        stats.longestGapMs = Math.max(stats.longestGapMs, Date.now() - lastAnswer)
        lastAnswer = Date.now()
      } else {
        firstFailure ??= t0
        stats.failureWindowMs = Date.now() - firstFailure
        if (stats.failuresAtMs.length < 5000) stats.failuresAtMs.push(t0 - started)
      }
      if (opts.intervalMs) await sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())))
    }
  }
  const snapshot = (): LoadStats => ({ ...stats, failuresAtMs: [...stats.failuresAtMs].sort((a, b) => a - b), durationMs: Date.now() - started })
  const workers = Array.from({ length: concurrency }, worker)
  const done = Promise.all(workers).then(() => {
    agent?.destroy()
    return snapshot()
  })
  return {
    stop: () => {
      stopped = true
      return done
    },
    done,
    snapshot
  }
}

/** Both kinds of client at once: keep-alive (a reused pool) and closing (a connection per request). */
export interface ClientLoads {
  keepAlive: LoadStats
  closing: LoadStats
}

/** Starts the same load twice, one with keep-alive connections and one that closes each. */
export function startClientLoads(opts: Omit<LoadOptions, 'keepAlive'>): { stop(): Promise<ClientLoads>; done: Promise<ClientLoads>; snapshot(): ClientLoads } {
  const keepAlive = startLoad({ ...opts, keepAlive: true })
  const closing = startLoad({ ...opts, keepAlive: false })
  const both = (a: Promise<LoadStats>, b: Promise<LoadStats>): Promise<ClientLoads> =>
    Promise.all([a, b]).then(([kept, closed]) => ({ keepAlive: kept, closing: closed }))
  return {
    stop: () => both(keepAlive.stop(), closing.stop()),
    done: both(keepAlive.done, closing.done),
    snapshot: () => ({ keepAlive: keepAlive.snapshot(), closing: closing.snapshot() })
  }
}

export interface SlowResult {
  status?: number
  body: string
  durationMs: number
  error?: string
}

/**
 * Fires `count` concurrent `/cgi-bin/slow?SECONDS` requests against the app base URL `url` and
 * resolves with each result once all have answered (or timed out). `keepAlive`: each goes out on
 * a connection that a quick request opened first, as a browser's next request would.
 */
export async function slowRequests(opts: {
  url: string; count: number; seconds: number; host?: string; timeoutMs?: number; keepAlive?: boolean
}): Promise<SlowResult[]> {
  if (!(opts.count > 0 && opts.count <= 1000)) throw new Error('slowRequests: count must be 1..1000')
  const target = new URL(`/cgi-bin/slow?${opts.seconds}`, opts.url).toString()
  const timeoutMs = opts.timeoutMs ?? opts.seconds * 1000 + 15_000
  const one = async (): Promise<SlowResult> => {
    const agent = opts.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : undefined
    let reused = false
    const t0 = Date.now()
    try {
      if (agent) await httpRequest('GET', opts.url, { host: opts.host, agent })
      const r = await httpRequest('GET', target, { host: opts.host, timeoutMs, agent, onSocket: (again) => (reused = again) })
      if (agent && !reused) return { body: '', durationMs: Date.now() - t0, error: 'the slow request did not reuse the connection' }
      return { status: r.status, body: r.body, durationMs: Date.now() - t0 }
    } catch (e) {
      return { body: '', durationMs: Date.now() - t0, error: (e as Error).message }
    } finally {
      agent?.destroy()
    }
  }
  return Promise.all(Array.from({ length: opts.count }, one))
}

// ------------------------------------------------------------------------------ clients that keep a cookie
export interface CookieClientOptions {
  url: string
  host?: string
  /** Independent clients, each with its own cookie jar (and its own keep-alive socket when keepAlive). */
  clients: number
  keepAlive: boolean
  intervalMs: number
  maxRequests: number
  maxMs: number
}

/** What one client saw, in order: runs of the same first body line (e.g. `version=2`), and its failures. */
export interface ClientHistory {
  /** Consecutive answers with the same version, in order, and when the first of each came. */
  runs: { version: string; count: number; firstAt: number }[]
  sent: number
  /** Responses other than 2xx, and requests with no response, each with when it happened. */
  failures: { at: number; what: string }[]
  /** The cookie the proxy gave it, if any. */
  cookie?: string
}

/**
 * Clients like browsers: each keeps the cookies it is given (only name=value, sent back on every
 * request) and records which version answered each of its requests, so a test can tell whether a
 * client ever flipped between versions.
 */
export function startCookieClients(opts: CookieClientOptions): { stop(): Promise<ClientHistory[]> } {
  if (!(opts.maxRequests > 0) || !(opts.maxMs > 0)) throw new Error('startCookieClients: maxRequests and maxMs must be positive')
  const deadline = Date.now() + opts.maxMs
  const perClient = Math.ceil(opts.maxRequests / opts.clients)
  let stopped = false
  const client = async (): Promise<ClientHistory> => {
    const history: ClientHistory = { runs: [], sent: 0, failures: [] }
    const agent = opts.keepAlive ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : undefined
    while (!stopped && history.sent < perClient && Date.now() < deadline) {
      history.sent++
      const headers = history.cookie ? { cookie: history.cookie } : undefined
      const reply = await httpRequest('GET', opts.url, { host: opts.host, agent, headers }).catch((e: Error) => e)
      if (!('headers' in reply)) {
        history.failures.push({ at: Date.now(), what: reply.message })
      } else {
        const set = reply.headers['set-cookie']?.[0]
        if (set) history.cookie = set.split(';')[0]
        const version = (reply.body.split('\n')[0] ?? '').replace(/ failed$/, '')
        const last = history.runs.at(-1)
        if (last?.version === version) last.count++
        else history.runs.push({ version, count: 1, firstAt: Date.now() })
        if (reply.status < 200 || reply.status >= 300) history.failures.push({ at: Date.now(), what: `HTTP ${reply.status}` })
      }
      if (opts.intervalMs) await sleep(Math.min(opts.intervalMs, Math.max(0, deadline - Date.now())))
    }
    agent?.destroy()
    return history
  }
  const running = Promise.all(Array.from({ length: opts.clients }, client))
  return {
    stop: () => {
      stopped = true
      return running
    }
  }
}
