// What a user would look at on the host after a run: containers, the proxy, state.json, images.
import { readFileSync } from 'node:fs'
import { httpGet, type Reply } from '../../sandbox/load.js'
import { hostDocker, hostSsh, mustHostDocker } from '../../sandbox/sandbox.js'

export const STATE_ROOT = '/var/lib/bluegreen'

/**
 * Removes every trace of these services and networks from the host: an empty host for them.
 * `docker`: the engine behind the host (default the sandbox's host engine).
 */
export async function clearHost(services: string[], networks: string[], docker = hostDocker): Promise<void> {
  for (const service of services) {
    const ids = (await docker(['ps', '-aq', '--filter', `label=bluegreen.service=${service}`])).stdout.split('\n').filter(Boolean)
    const named = [`${service}-blue`, `${service}-green`]
    await docker(['rm', '-f', ...ids, ...named])
  }
  for (const network of networks) {
    // The proxy, and after a proxy-image upgrade the holder of its network namespace (last).
    await docker(['rm', '-f', `${network}-proxy`, `${network}-proxy-next`, `${network}-proxy-old`])
    await docker(['rm', '-f', `${network}-proxy-net`])
    await docker(['network', 'rm', network])
  }
  const dirs = [...services.map((s) => `${STATE_ROOT}/${s}`), ...networks.map((n) => `${STATE_ROOT}/_proxy/${n}`)]
  await hostSsh(`rm -rf ${dirs.map((d) => `'${d}'`).join(' ')}`)
}

export interface HostContainer {
  name: string
  state: string
  image: string
  labels: Record<string, string>
  restart: string
}

/** Containers of a service (by label) or with a name prefix, as `docker inspect` shows them. */
export async function serviceContainers(service: string): Promise<HostContainer[]> {
  const ids = (await hostDocker(['ps', '-aq', '--filter', `label=bluegreen.service=${service}`])).stdout.split('\n').filter(Boolean)
  if (ids.length === 0) return []
  const out = await mustHostDocker(['inspect', ...ids])
  return (JSON.parse(out.stdout) as { Name: string; State: { Status: string }; Image: string; Config: { Labels: Record<string, string> }; HostConfig: { RestartPolicy: { Name: string } } }[])
    .map((c) => ({ name: c.Name.replace(/^\//, ''), state: c.State.Status, image: c.Image, labels: c.Config.Labels, restart: c.HostConfig.RestartPolicy.Name }))
    .sort((a, b) => a.name.localeCompare(b.name))
}

export async function containerStatus(name: string): Promise<string> {
  const out = await hostDocker(['container', 'inspect', '-f', '{{.State.Status}}', name])
  return out.code === 0 ? out.stdout.trim() : 'missing'
}

export async function hostHasImage(idOrRef: string): Promise<boolean> {
  return (await hostDocker(['image', 'inspect', idOrRef])).code === 0
}

export interface StateFile {
  live?: { slot: string; image: string; imageId: string; container: string }
  previous?: { slot: string; image: string; imageId: string }
  history: { image: string }[]
}

export async function stateFile(service: string): Promise<StateFile | undefined> {
  const out = await hostSsh(`cat ${STATE_ROOT}/${service}/state.json`)
  return out.code === 0 ? (JSON.parse(out.stdout) as StateFile) : undefined
}

/** A GET through the proxy on the host's published port. */
export function viaProxy(port: number, path = '/', host?: string): Promise<Reply> {
  return httpGet(`http://127.0.0.1:${port}${path}`, { host, timeoutMs: 10_000 })
}

/** Successful logins so far in the sandbox sshd's log (read directly: no login of our own). */
export function acceptedLogins(): number {
  return readFileSync('/var/log/bluegreen-sandbox/sshd.log', 'utf8').split('\n').filter((line) => line.includes('Accepted publickey')).length
}
