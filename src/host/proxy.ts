import type { Ssh } from '../ssh/connection.js'
import { COMMON_CONFIG, parseRoute, probeHostName, type Route } from './nginx-config.js'
import { proxyDir, proxyName } from './paths.js'
import { parseProbe } from './probe.js'
import { IN_PROXY, SCRIPTS } from './scripts.js'

export interface ProxySpec {
  network: string
  port: number
  image: string
  service: string
  serverNames: string[]
}

export interface ProxyCheck {
  /** running, exited, ... or missing */
  status: string
  publishedPort?: number
  image?: string
  portBusy: boolean
  /** The proxy's folder holds this version's shared config (COMMON_CONFIG). */
  commonCurrent?: boolean
  /** Routes of the other services behind this proxy. */
  otherRoutes: Route[]
}

export function parseProxyCheck(stdout: string): ProxyCheck {
  const lines = stdout.split('\n')
  const proxyLine = lines.find((line) => line.startsWith('proxy '))?.slice(6) ?? 'missing'
  const [status, bindings, image] = proxyLine.split('|')
  const published = /"HostPort":"(\d+)"/.exec(bindings ?? '')
  return {
    status,
    publishedPort: published ? Number(published[1]) : undefined,
    image,
    portBusy: lines.includes('port-busy'),
    commonCurrent: lines.includes('common-current'),
    otherRoutes: lines
      .filter((line) => line.startsWith('route '))
      .map((line) => parseRoute(line.slice(6)))
      .filter((route): route is Route => route !== undefined)
  }
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
  for (const route of check.otherRoutes) {
    if (spec.serverNames.length === 0 && route.serverNames.length === 0) {
      problems.push(
        `server-name: ${route.service} already answers every host name on ${name}; give ${spec.service} a server-name`
      )
    }
    const shared = spec.serverNames.filter((serverName) => route.serverNames.includes(serverName))
    if (shared.length > 0) problems.push(`server-name: ${shared.join(', ')} already routes to ${route.service}`)
  }
  return problems
}

/** Returns what it did, e.g. ["network created", "proxy created"]. */
export async function ensureProxy(ssh: Ssh, spec: ProxySpec): Promise<string[]> {
  const result = await ssh.run(
    SCRIPTS.ensureProxy,
    [spec.network, proxyName(spec.network), String(spec.port), spec.image, proxyDir(spec.network)],
    { stdin: COMMON_CONFIG }
  )
  const lines = result.stdout.split('\n').filter(Boolean)
  if (result.code !== 0) {
    const failed = lines.filter((line) => !line.startsWith('network') && !line.startsWith('proxy')).join('\n')
    throw new Error(`Could not start the proxy ${proxyName(spec.network)}: ${failed || result.stderr.trim()}`)
  }
  return lines
}

export type SwitchResult =
  | { ok: true }
  /** reloaded: nginx runs the new route, which must be put back (restoreRoute). */
  | { ok: false; reloaded: boolean; message: string }

/** What the proxy and the switch's arguments need from lib-probe-shell.sh's `docker exec` (env values). */
export function switchEnv(route: Route, healthPath: string): Record<string, string> {
  return {
    BG_SWITCH: IN_PROXY.switch,
    BG_SWITCH_URL: `http://127.0.0.1:80${healthPath}`,
    BG_HOST: probeHostName(route),
    BG_SLOT: route.slot
  }
}

/** Reads lib-switch.sh's exit code and output; a lost lock throws, as the runner's own check does. */
export function switchOutcome(code: number, output: string[], route: Route): SwitchResult {
  const text = output.join(' ').trim()
  if (code === 0) return { ok: true }
  if (code === 7) throw new Error(`Lost the deploy lock of ${route.service}: it was no longer this run's when the switch came`)
  if (code === 3) {
    return { ok: false, reloaded: false, message: `nginx refused the new config (nginx -t), the previous one is back: ${text}` }
  }
  if (code === 6) {
    const reason = output.find((line) => line.startsWith('POLICY '))?.slice(7).trim()
    return { ok: false, reloaded: true, message: `Could not give ${route.container} its restart policy: ${reason || text}` }
  }
  const last = parseProbe(output.at(-1) ?? '')
  const seen = last ? `HTTP ${last.status} from slot ${last.slot ?? 'unknown'}` : text || `exit ${code}`
  return { ok: false, reloaded: true, message: `The proxy did not serve ${route.container} after the switch (last answer: ${seen})` }
}

export async function restoreRoute(ssh: Ssh, network: string, service: string): Promise<void> {
  const result = await ssh.run(SCRIPTS.restoreRoute, [proxyDir(network), proxyName(network), service])
  if (result.code !== 0) throw new Error(`Could not restore the previous proxy config: ${result.stderr.trim()}`)
}
