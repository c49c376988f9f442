// Several servers in one step, against three "remote" servers (sandbox/nodes.sh): each its own
// sshd, Docker engine, /var/lib and boot ID, reached at 10.250.0.1x. Load runs against every
// host's proxy while the rollout goes.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runAction } from '../../sandbox/action.js'
import { baseRef, buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { nodeDocker, nodeSsh, readNodesInfo, type NodeInfo, type NodesInfo } from '../../sandbox/nodes.js'
import { runCommand } from '../../sandbox/sandbox.js'

const SERVICE = 'mh'
const NETWORK = 'e2e-hosts'
const PORT = 18170
const CHECK_DIR = '/var/lib/bluegreen/mh-check'

let info: NodesInfo
let nodes: NodeInfo[]
const images: Record<string, BuiltImage> = {}

function inputs(hostsOf: NodeInfo[], image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    hosts: hostsOf.map((node) => `${node.address} ${node.fingerprint}`).join('\n'),
    username: info.user,
    key: readFileSync(info.keyPath, 'utf8'),
    image,
    service: SERVICE,
    network: NETWORK,
    'proxy-port': String(PORT),
    ...extra
  }
}

async function serves(node: NodeInfo): Promise<string> {
  const out = await runCommand('curl', ['-s', '-m', '5', `http://${node.address}:${PORT}/`])
  return out.stdout.trim()
}

/** Keep-alive and closing clients against every host's proxy. */
function loadEverywhere(): { stop(): Promise<ClientLoads[]> } {
  const loads = nodes.map((node) =>
    startClientLoads({ url: `http://${node.address}:${PORT}/`, concurrency: 2, intervalMs: 10, maxRequests: 20_000, maxMs: 120_000 })
  )
  return { stop: () => Promise.all(loads.map((load) => load.stop())) }
}

function expectNoneFailed(all: ClientLoads[]): void {
  all.forEach((loads, i) => {
    for (const [kind, stats] of Object.entries(loads)) {
      expect({ host: nodes[i].name, kind, errors: stats.errors, failed: stats.failed }).toEqual({ host: nodes[i].name, kind, errors: [], failed: 0 })
      expect(stats.sent).toBeGreaterThan(20)
    }
  })
}

/** Removes every trace of the service on every node. */
async function clearNodes(): Promise<void> {
  for (const node of nodes) {
    const ids = (await nodeDocker(node, ['ps', '-aq', '--filter', `label=bluegreen.service=${SERVICE}`])).stdout.split('\n').filter(Boolean)
    if (ids.length) await nodeDocker(node, ['rm', '-f', ...ids])
    await nodeDocker(node, ['rm', '-f', `${NETWORK}-proxy`])
    await nodeDocker(node, ['network', 'rm', NETWORK])
    await nodeSsh(node, `rm -rf /var/lib/bluegreen/${SERVICE} /var/lib/bluegreen/_proxy/${NETWORK} ${CHECK_DIR}`)
    for (const image of Object.values(images)) await nodeDocker(node, ['image', 'rm', '-f', image.ref])
    await nodeDocker(node, ['image', 'rm', '-f', baseRef(20)])
  }
}

/** A stand-in docker first on the PATH that counts the runner's `docker save` calls. */
function countingDocker(): { env: Record<string, string>; saves(): number; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'mh-docker-'))
  const real = '/usr/bin/docker'
  writeFileSync(join(dir, 'docker'), `#!/bin/sh\n[ "$1" = save ] && echo save >> "${dir}/saves"\nexec ${real} "$@"\n`, { mode: 0o755 })
  return {
    env: { PATH: `${dir}:${process.env.PATH}` },
    saves: () => readFileSync(join(dir, 'saves'), 'utf8').split('\n').filter(Boolean).length,
    remove: () => rmSync(dir, { recursive: true, force: true })
  }
}

beforeAll(async () => {
  info = readNodesInfo()
  nodes = info.nodes
  images.v1 = await buildApp({ tag: 'e2e-hosts/app:1', version: 'hosts-1' })
  images.v2 = await buildApp({ tag: 'e2e-hosts/app:2', version: 'hosts-2' })
  images.v3 = await buildApp({ tag: 'e2e-hosts/app:3', version: 'hosts-3' })
  images.big = await buildApp({ tag: 'e2e-hosts/app:big', version: 'hosts-big', paddingMiB: 20 })
  await clearNodes()
}, 300_000)

afterAll(() => clearNodes())

test('3 hosts, canary first, under load on each, with layer-source: docker-save → not one request fails, one docker save serves them all, and each host gets only the layers it lacks', async () => {
  // All three run v1; hosts 1 and 2 also hold the big image's 20 MiB base, host 3 does not: they
  // lack different layers.
  const first = await runAction(inputs(nodes, images.v1.ref))
  expect(first.code).toBe(0)
  for (const node of nodes.slice(0, 2)) {
    const copied = await runCommand('sh', ['-c', `docker save ${baseRef(20)} | docker -H ${node.dockerHost} load`])
    expect(copied.code).toBe(0)
  }
  const docker = countingDocker()
  const load = loadEverywhere()
  try {
    // (With the default, each host reads the layers it lacks from the runner's store: the tests below.)
    const run = await runAction(inputs(nodes, images.big.ref, { 'layer-source': 'docker-save' }), { env: docker.env })
    const loads = await load.stop()
    if (run.code !== 0) throw new Error(run.stdout)
    expectNoneFailed(loads)
    expect(docker.saves()).toBe(1)
    const result = JSON.parse(run.outputs['hosts-result']) as { host: string; result: string; transferredBytes: number }[]
    expect(result.map((host) => host.result)).toEqual(['live', 'live', 'live'])
    // Host 3 lacked the 20 MiB layer too: its archive is the larger by about that much.
    expect(result[2].transferredBytes - result[0].transferredBytes).toBeGreaterThan(1 << 20)
    expect(Math.abs(result[0].transferredBytes - result[1].transferredBytes)).toBeLessThan(64 * 1024)
    for (const node of nodes) expect(await serves(node)).toBe('version=hosts-big')
    expect(run.summary).toContain('## Live on 3 hosts')
  } finally {
    docker.remove()
  }
}, 240_000)

test('host 3 fails its health check → hosts 1 and 2 are back on the old release, and nothing failed on any host', async () => {
  // The check path is a folder of each host's own (a bind mount): host 3 lacks the file.
  for (const node of nodes) await nodeSsh(node, `mkdir -p ${CHECK_DIR} && rm -f ${CHECK_DIR}/ok`)
  for (const node of nodes.slice(0, 2)) await nodeSsh(node, `echo ok > ${CHECK_DIR}/ok`)
  const load = loadEverywhere()
  const run = await runAction(inputs(nodes, images.v2.ref, {
    volumes: `${CHECK_DIR}:/app/www/check:ro`, 'health-path': '/check/ok', 'health-timeout': '5', 'batch-size': '1'
  }))
  const loads = await load.stop()
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/::error::bgs-deploy@10\.250\.0\.13:22 failed; every host that had switched went back \(all-or-nothing: true\)/)
  const result = JSON.parse(run.outputs['hosts-result']) as { result: string; error?: string }[]
  expect(result.map((host) => [host.result, host.result === 'reverted' ? host.error : ''])).toEqual([
    ['reverted', 'back on the previous release: e2e-hosts/app:big'], ['reverted', 'back on the previous release: e2e-hosts/app:big'], ['failed', '']
  ])
  expectNoneFailed(loads)
  for (const node of nodes) expect(await serves(node)).toBe('version=hosts-big')
  expect(run.summary).toMatch(/## Deploy failed on 3 of 3 hosts/)
}, 240_000)

test('with all-or-nothing false → the hosts that succeeded stay on the new release, and the step still fails', async () => {
  const run = await runAction(inputs(nodes, images.v3.ref, {
    volumes: `${CHECK_DIR}:/app/www/check:ro`, 'health-path': '/check/ok', 'health-timeout': '5', 'all-or-nothing': 'false'
  }))
  expect(run.code).toBe(1)
  // Each host read the layer it lacked from the runner's store: no docker save.
  expect(run.stdout.match(/Reading 1 layer from the runner's Docker store \(as root\)/g)).toHaveLength(3)
  const result = JSON.parse(run.outputs['hosts-result']) as { result: string }[]
  expect(result.map((host) => host.result)).toEqual(['live', 'live', 'failed'])
  expect(await serves(nodes[0])).toBe('version=hosts-3')
  expect(await serves(nodes[1])).toBe('version=hosts-3')
  expect(await serves(nodes[2])).toBe('version=hosts-big')
}, 240_000)

test('a host that does not answer → refused before any host changes', async () => {
  const before = await Promise.all(nodes.slice(0, 2).map(serves))
  const unreachable = { ...nodes[0], address: '10.250.0.99', fingerprint: nodes[0].fingerprint }
  const run = await runAction(inputs([nodes[0], nodes[1], unreachable], images.v2.ref, { timeout: '3' }))
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/::error::10\.250\.0\.99:22: Timed out after 3 s connecting/)
  expect(await Promise.all(nodes.slice(0, 2).map(serves))).toEqual(before)
  const containers = await nodeDocker(nodes[0], ['ps', '-a', '--format', '{{.Names}} {{.Image}}'])
  expect(containers.stdout).not.toContain(images.v2.id.slice(7, 19))
}, 120_000)
