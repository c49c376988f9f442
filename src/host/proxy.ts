import type { Ssh } from '../ssh/connection.js'
import type { Runner } from './guard.js'
import { COMMON_CONFIG, LISTEN_CONFIG, probeHostName, type Route } from './nginx-config.js'
import { proxyDir, proxyName } from './paths.js'
import { parseProbe, type ProbeResult } from './probe.js'
import { IN_PROXY, SCRIPTS } from './scripts.js'

export interface ProxySpec {
  network: string
  port: number
  image: string
  service: string
  serverNames: string[]
  /** The host port for HTTPS, when the service uses TLS. */
  httpsPort?: number
  /** How long the old nginx of a proxy upgrade may take to finish its requests (drain-timeout). */
  drainTimeoutSeconds?: number
}

/** How the proxy reaches the slots on its network (scripts/lib-network.sh). */
export interface NetworkCheck {
  /** pinned: the action made it, with addresses to pin; names: another network; missing: none yet. */
  mode: 'pinned' | 'names' | 'missing'
  subnet?: string
}

export interface ProxyCheck {
  /** running, exited, ... or missing */
  status: string
  publishedPort?: number
  /** The host port published on the proxy's 443, if any. */
  publishedHttpsPort?: number
  image?: string
  portBusy: boolean
  /** The HTTPS port the proxy does not publish is in use on the host. */
  httpsBusy?: boolean
  /** The proxy's folder holds this version's shared config (COMMON_CONFIG, LISTEN_CONFIG). */
  commonCurrent?: boolean
  /**
   * An upgraded proxy (a holder and the nginx that serves in its namespace) that is not as the
   * upgrade left it: the holder restarted, or its partner does not run (lib-proxy-pair.sh).
   */
  pairRepair?: boolean
  /** The other services behind this proxy and the host names they answer (empty: any). */
  otherServices: { service: string; serverNames: string[] }[]
  network: NetworkCheck
}

export function parseProxyCheck(stdout: string, network = 'missing'): ProxyCheck {
  const lines = stdout.split('\n')
  const proxyLine = lines.find((line) => line.startsWith('proxy '))?.slice(6) ?? 'missing'
  const [status, bindings, image] = proxyLine.split('|')
  const [mode, subnet] = network.trim().split(' ')
  return {
    status,
    publishedPort: hostPort(bindings, 80),
    publishedHttpsPort: hostPort(bindings, 443),
    image,
    portBusy: lines.includes('port-busy'),
    httpsBusy: lines.includes('https-busy'),
    commonCurrent: lines.includes('common-current'),
    pairRepair: lines.includes('pair-repair'),
    otherServices: lines
      .filter((line) => line.startsWith('names '))
      .map((line) => {
        const [, service, ...names] = line.split(/\s+/)
        return { service, serverNames: names.filter((name) => name !== '_' && name !== '') }
      }),
    network: mode === 'pinned' || mode === 'names' ? { mode, subnet } : { mode: 'missing' }
  }
}

/** The host port published for the container's `port`, from docker's PortBindings JSON. */
function hostPort(bindings: string | undefined, port: number): number | undefined {
  let parsed: Record<string, { HostPort?: string }[] | null>
  try {
    parsed = JSON.parse(bindings ?? '') as typeof parsed
  } catch {
    return undefined
  }
  const host = parsed?.[`${port}/tcp`]?.[0]?.HostPort
  return host ? Number(host) : undefined
}

/** Refuses, before any change, a proxy-port or server-name that cannot work on this host. */
export function proxyProblems(check: ProxyCheck, spec: ProxySpec): string[] {
  const problems: string[] = []
  const name = proxyName(spec.network)
  if (check.status === 'missing' && check.portBusy) {
    problems.push(`proxy-port: port ${spec.port} is already in use on the host by something other than ${name}`)
  }
  if (check.status !== 'missing' && check.publishedPort !== undefined && check.publishedPort !== spec.port) {
    problems.push(
      `proxy-port: the proxy ${name} of network ${spec.network} publishes port ${check.publishedPort}, not ${spec.port}; ` +
        'use the same proxy-port for every service on a network, or another network'
    )
  }
  problems.push(...httpsProblems(check, spec))
  for (const other of check.otherServices) {
    if (spec.serverNames.length === 0 && other.serverNames.length === 0) {
      problems.push(
        `server-name: ${other.service} already answers every host name on ${name}; give ${spec.service} a server-name`
      )
    }
    const shared = spec.serverNames.filter((serverName) => other.serverNames.includes(serverName))
    if (shared.length > 0) problems.push(`server-name: ${shared.join(', ')} already routes to ${other.service}`)
  }
  return problems
}

/** An HTTPS port the proxy publishes elsewhere, or that something else holds. */
function httpsProblems(check: ProxyCheck, spec: ProxySpec): string[] {
  if (spec.httpsPort === undefined) return []
  const name = proxyName(spec.network)
  if (check.status !== 'missing' && check.publishedHttpsPort !== undefined && check.publishedHttpsPort !== spec.httpsPort) {
    return [
      `https-port: the proxy ${name} of network ${spec.network} publishes HTTPS on port ${check.publishedHttpsPort}, not ${spec.httpsPort}; ` +
        'use the same https-port for every service on a network, or another network'
    ]
  }
  if (check.httpsBusy) return [`https-port: port ${spec.httpsPort} is already in use on the host by something other than ${name}`]
  return []
}

/** The proxy runs, serves this version's shared config, and runs the proxy-image asked for. */
export function proxyReady(check: ProxyCheck, spec: Pick<ProxySpec, 'image'>): boolean {
  return check.status === 'running' && check.commonCurrent === true && check.pairRepair !== true && check.image === spec.image
}

/**
 * Returns what it did, e.g. ["network created (...)", "proxy created"]. A running proxy of
 * another image is upgraded in place, with no gap (lib-proxy-pair.sh).
 */
export async function ensureProxy(run: Runner, spec: ProxySpec): Promise<string[]> {
  const args = [
    spec.network, proxyName(spec.network), String(spec.port), spec.image, proxyDir(spec.network), spec.httpsPort ? String(spec.httpsPort) : '',
    LISTEN_CONFIG, String(spec.drainTimeoutSeconds ?? 30)
  ]
  const result = await run(SCRIPTS.ensureProxy, args, { stdin: COMMON_CONFIG })
  const lines = result.stdout.split('\n').filter(Boolean)
  if (result.code !== 0) {
    const failed = lines.filter((line) => !line.startsWith('network') && !line.startsWith('proxy')).join('\n')
    throw new Error(`Could not start the proxy ${proxyName(spec.network)}: ${failed || result.stderr.trim()}`)
  }
  return lines
}

export type SwitchResult =
  | { ok: true }
  /** switchedBack: the symlink moved and was put back; the live slot never changed otherwise. */
  | { ok: false; switchedBack: boolean; message: string }

/** What the proxy and the switch's verification need in the shell in the proxy (env values). */
export function verifyEnv(route: Route, healthPath: string): Record<string, string> {
  return {
    BG_VERIFY: IN_PROXY.verify,
    BG_VERIFY_URL: `http://127.0.0.1:80${healthPath}`,
    BG_HOST: probeHostName(route),
    BG_SLOT: route.slot
  }
}

/** Reads lib-switch.sh's exit code and output; a lost lock throws, as the runner's own check does. */
export function switchOutcome(code: number, output: string[], route: Route, lost: (detail: string) => Error): SwitchResult {
  if (code === 0) return { ok: true }
  if (code === 7) throw lost('it was no longer this run\'s when the switch came')
  const switchedBack = output.some((line) => line.startsWith('SWITCHED-BACK'))
  const said = output.filter((line) => !/^(SWITCHED|SWITCHED-BACK|POLICY)( |$)/.test(line))
  if (code === 6) {
    const reason = output.find((line) => line.startsWith('POLICY '))?.slice(7).trim()
    return { ok: false, switchedBack, message: `Could not give ${route.container} its restart policy: ${reason || said.join(' ')}` }
  }
  const last = parseProbe(said.at(-1) ?? '')
  const seen = last ? `HTTP ${last.status} from slot ${last.slot ?? 'unknown'}` : said.join(' ').trim() || `exit ${code}`
  return { ok: false, switchedBack, message: `The proxy did not serve ${route.container} after the switch (last answer: ${seen})` }
}

export interface ProxyServes {
  /** The proxy container's state before this look (running, exited, missing; unknown: Docker did not answer). */
  status: string
  /** It was not running and was started again. */
  restarted: boolean
  /** What it answered for the service, when it answered at all. */
  answer?: ProbeResult
  /** Its answer or why there was none, as the host said it. */
  said: string
}

/**
 * After a failure: brings a stopped proxy back (its config on disk routes to the live slot) and
 * asks it what it serves for `route`'s host names, so the error tells what clients see.
 */
export async function proxyServes(ssh: Ssh, spec: Pick<ProxySpec, 'network' | 'port'>, route: Pick<Route, 'serverNames'>, healthPath: string): Promise<ProxyServes> {
  const result = await ssh.run(SCRIPTS.proxyServes, [proxyName(spec.network), String(spec.port), healthPath, probeHostName(route)])
  const lines = result.stdout.split('\n')
  const status = lines.find((line) => line.startsWith('PROXY '))?.slice(6) ?? 'unknown'
  const said = lines.find((line) => line.startsWith('SERVES '))?.slice(7) ?? (result.stderr.trim() || `exit ${result.code}`)
  return { status, restarted: lines.includes('PROXY started'), answer: parseProbe(said), said }
}
