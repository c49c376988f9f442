// target: swarm against the sandbox's Swarm (sandbox/nodes.sh up --swarm): node 1 the manager,
// nodes 2 and 3 workers, each its own sshd, engine and disk, no registry and no DNS. Every deploy
// runs under load from the runner against the proxy's published port on every node, with
// keep-alive and closing clients, counting failed requests. This kernel has no IPVS: services are
// reached through DNS round-robin (tasks.<service>) and published in host mode, which is what
// the action does anyway.
import { readFileSync } from 'node:fs'
import { runAction, startAction, type ActionResult } from '../../sandbox/action.js'
import { buildApp, type BuiltImage } from '../../sandbox/fixtures.js'
import { httpGet, startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { mustNodeDocker, nodeDocker, nodeSsh, readNodesInfo, type NodeInfo, type NodesInfo } from '../../sandbox/nodes.js'
import { runCommand } from '../../sandbox/sandbox.js'

const SERVICE = 'sw-bg'
const NETWORK = 'e2e-swarm'
const PORT = 18301
const ROLL = 'sw-roll'
const FRONT = 'sw-roll-front'
const FRONT_PORT = 18302
const SERVICES = [`${SERVICE}-blue`, `${SERVICE}-green`, `${NETWORK}-proxy`, ROLL, FRONT]
const SECRET = 'swarm-secret-value'

let info: NodesInfo
let nodes: NodeInfo[]
const images: Record<string, BuiltImage> = {}

function inputs(image: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    target: 'swarm',
    host: nodes[0].address,
    username: info.user,
    key: readFileSync(info.keyPath, 'utf8'),
    // Every node's key: the step's pins apply to the nodes it reaches at their own addresses.
    fingerprint: nodes.map((node) => node.fingerprint).join(' '),
    image,
    service: SERVICE,
    network: NETWORK,
    'proxy-port': String(PORT),
    replicas: '2',
    env: `GREETING=${SECRET}`,
    ...extra
  }
}

const manager = (args: string[]) => mustNodeDocker(1, args)

async function served(node: NodeInfo, port = PORT): Promise<string> {
  const reply = await httpGet(`http://${node.address}:${port}/`, { timeoutMs: 5000 }).catch((error: Error) => ({ body: error.message }))
  return reply.body.split('\n')[0]
}

async function servedEverywhere(port = PORT): Promise<string[]> {
  return Promise.all(nodes.map((node) => served(node, port)))
}

/** Keep-alive and closing clients against every node's proxy, bounded. */
function loadEverywhere(port = PORT): { stop(): Promise<ClientLoads[]> } {
  const loads = nodes.map((node) =>
    startClientLoads({ url: `http://${node.address}:${port}/`, concurrency: 2, intervalMs: 10, maxRequests: 30_000, maxMs: 150_000 })
  )
  return { stop: () => Promise.all(loads.map((load) => load.stop())) }
}

/** The error lines of the proxy task's nginx on a node (which upstream failed, and how). */
async function proxyErrors(node: NodeInfo): Promise<string[]> {
  const ids = (await nodeDocker(node, ['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${NETWORK}-proxy`])).stdout.trim().split('\n').filter(Boolean)
  const lines: string[] = []
  for (const id of ids) lines.push(...(await nodeDocker(node, ['logs', '--tail', '200', id])).stderr.split('\n').filter((line) => line.includes('[error]')))
  return lines.slice(-10)
}

async function expectNoneFailed(all: ClientLoads[]): Promise<void> {
  for (const [i, loads] of all.entries()) {
    for (const [kind, stats] of Object.entries(loads)) {
      // A failure names what the node's proxy logged about it.
      const proxyLog = stats.failed ? await proxyErrors(nodes[i]) : []
      expect({ node: nodes[i].name, kind, errors: stats.errors, failed: stats.failed, proxyLog }).toEqual({ node: nodes[i].name, kind, errors: [], failed: 0, proxyLog: [] })
      expect(stats.sent).toBeGreaterThan(20)
    }
  }
}

function succeeded(run: ActionResult): ActionResult {
  if (run.code !== 0) throw new Error(`the action failed (exit ${run.code}):\n${run.stdout}\n${run.stderr}`)
  return run
}

/** replicas of a service, or 'missing'. */
async function replicas(name: string): Promise<string> {
  const r = await nodeDocker(1, ['service', 'inspect', '-f', '{{.Spec.Mode.Replicated.Replicas}}', name])
  return r.code === 0 ? r.stdout.trim() : 'missing'
}

async function eventually<T>(fn: () => Promise<T>, tries = 80, delayMs = 250): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await fn()
    } catch (error) {
      last = error
      await new Promise((resolve) => setTimeout(resolve, delayMs))
    }
  }
  throw last
}

/** Everything these tests make in the Swarm and on the nodes, gone. */
async function clearSwarm(): Promise<void> {
  for (const name of SERVICES) await nodeDocker(1, ['service', 'rm', name])
  // Each node's task containers go a moment after their service.
  await eventually(async () => {
    for (const node of nodes) {
      for (const name of SERVICES) {
        const left = (await nodeDocker(node, ['ps', '-aq', '--filter', `label=com.docker.swarm.service.name=${name}`])).stdout.trim()
        if (left) throw new Error(`${node.name} still has task containers of ${name}`)
      }
    }
  }).catch((error: unknown) => process.stderr.write(`${String(error)}\n`))
  await nodeDocker(1, ['network', 'rm', NETWORK])
  for (const node of nodes) {
    await nodeSsh(node, `rm -rf /var/lib/bluegreen/${SERVICE} /var/lib/bluegreen/${ROLL} /var/lib/bluegreen/${FRONT} /var/lib/bluegreen/_proxy/${NETWORK}`)
    for (const image of Object.values(images)) await nodeDocker(node, ['image', 'rm', image.ref])
  }
}

beforeAll(async () => {
  info = readNodesInfo()
  nodes = info.nodes
  images.v1 = await buildApp({ tag: 'sw-e2e/app:1', version: 'swarm-1' })
  images.v2 = await buildApp({ tag: 'sw-e2e/app:2', version: 'swarm-2' })
  images.v3 = await buildApp({ tag: 'sw-e2e/app:3', version: 'swarm-3' })
  images.v4 = await buildApp({ tag: 'sw-e2e/app:4', version: 'swarm-4' })
  images.v5 = await buildApp({ tag: 'sw-e2e/app:5', version: 'swarm-5' })
  images.crash = await buildApp({ tag: 'sw-e2e/app:crash', version: 'swarm-crash', variant: 'crash' })
  images.roll1 = await buildApp({ tag: 'sw-e2e/roll:1', version: 'roll-1', healthcheck: true })
  images.roll2 = await buildApp({ tag: 'sw-e2e/roll:2', version: 'roll-2', healthcheck: true })
  images.rollCrash = await buildApp({ tag: 'sw-e2e/roll:crash', version: 'roll-crash', healthcheck: true, variant: 'crash' })
  await clearSwarm()
}, 300_000)

afterAll(async () => {
  await clearSwarm()
  for (const image of Object.values(images)) await runCommand('docker', ['image', 'rm', image.ref])
}, 120_000)

describe('blue-green between two services', () => {
  test('blue-green with 2 replicas, under load on every node → 0 failed requests across the switch, and an instant rollback (scale up the kept service, switch; no transfer) with 0 failed', async () => {
    const first = succeeded(await runAction(inputs(images.v1.ref)))
    expect(first.outputs.slot).toBe('blue')
    expect(await servedEverywhere()).toEqual(['version=swarm-1', 'version=swarm-1', 'version=swarm-1'])

    let load = loadEverywhere()
    const second = await runAction(inputs(images.v2.ref))
    await expectNoneFailed(await load.stop())
    succeeded(second)
    expect(second.outputs.slot).toBe('green')
    expect(await servedEverywhere()).toEqual(['version=swarm-2', 'version=swarm-2', 'version=swarm-2'])
    expect(await replicas(`${SERVICE}-green`)).toBe('2')
    // The old slot keeps its spec at 0 tasks, for the rollback.
    expect(await replicas(`${SERVICE}-blue`)).toBe('0')
    // The service names the image by the ID the nodes report, so no node tries a registry.
    const spec = (await manager(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.EndpointSpec.Mode}}', `${SERVICE}-green`])).stdout.trim()
    expect(spec).toBe(`${images.v2.id} dnsrr`)
    // env reached the tasks through an env file on the manager that is gone now, and never the log.
    const env = await httpGet(`http://${nodes[1].address}:${PORT}/cgi-bin/env?GREETING`)
    expect(env.body.trim()).toBe(SECRET)
    expect(second.stdout).not.toContain(SECRET)
    expect((await nodeSsh(1, `grep -rl ${SECRET} /tmp 2>/dev/null || true`)).stdout.trim()).toBe('')
    expect(second.summary).toContain('## sw\\-bg is live on green')

    load = loadEverywhere()
    const back = await runAction(inputs('', { rollback: 'true' }))
    await expectNoneFailed(await load.stop())
    succeeded(back)
    expect(back.stdout).toContain(`Scaled the kept ${SERVICE}-blue (${images.v1.ref}) back up to 2: no transfer, no new spec`)
    expect([back.outputs.slot, back.outputs.image, back.outputs['transferred-bytes']]).toEqual(['blue', images.v1.ref, '0'])
    expect(await servedEverywhere()).toEqual(['version=swarm-1', 'version=swarm-1', 'version=swarm-1'])
    expect(await replicas(`${SERVICE}-green`)).toBe('0')
  }, 240_000)

  test('a task that never gets healthy → the live service keeps serving (0 failed), and the new service is removed', async () => {
    const load = loadEverywhere()
    const run = await runAction(inputs(images.v3.ref, { 'health-path': '/no-such-page', 'health-timeout': '6' }))
    await expectNoneFailed(await load.stop())
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::Health check of sw-bg-green failed: no healthy answer from every task within health-timeout \(6 s\)/)
    expect(run.stdout).toContain(`The Swarm is as before: ${SERVICE}-blue (${images.v1.ref}) still serves on port ${PORT} of every node; the candidate service ${SERVICE}-green was removed`)
    expect(await replicas(`${SERVICE}-green`)).toBe('missing')
    expect(await servedEverywhere()).toEqual(['version=swarm-1', 'version=swarm-1', 'version=swarm-1'])
  }, 180_000)

  test('a task that exits at boot → the step fails at once with its log lines, and the live service keeps serving', async () => {
    const load = loadEverywhere()
    const run = await runAction(inputs(images.crash.ref, { 'health-timeout': '60' }))
    await expectNoneFailed(await load.stop())
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::Health check of sw-bg-green failed: task \w+ on node bgn\d failed: task: non-zero exit \(3\)/)
    expect(run.stdout).toContain('boot failed: missing config')
    expect(run.durationMs).toBeLessThan(40_000)
    expect(await replicas(`${SERVICE}-green`)).toBe('missing')
  }, 180_000)
})

describe('a node without the image', () => {
  test('a node lacks the image (the others have it) → it is sent there before anything in the Swarm changes, and every node runs it', async () => {
    for (const node of nodes.slice(0, 2)) {
      const copied = await runCommand('sh', ['-c', `docker save ${images.v4.ref} | docker -H ${node.dockerHost} load`])
      expect(copied.code).toBe(0)
    }
    const load = loadEverywhere()
    const run = await runAction(inputs(images.v4.ref))
    await expectNoneFailed(await load.stop())
    succeeded(run)
    expect(run.stdout).toContain('[bgn3] ▸ Transfer sw-e2e/app:4')
    // Node 3 holds the earlier releases: only the layers it lacks are read, from the runner's store (no docker save).
    expect(run.stdout).toMatch(/\[bgn3\] Reading \d+ layers? from the runner's Docker store/)
    expect(run.stdout).toMatch(/\[bgn3\] [1-9]\d* of \d+ layers are already on the host/)
    expect(run.stdout).not.toContain('[bgn1] ▸ Transfer')
    expect(run.stdout).not.toContain('[bgn2] ▸ Transfer')
    for (const node of nodes) expect((await nodeDocker(node, ['image', 'inspect', images.v4.id])).code).toBe(0)
    expect(await servedEverywhere()).toEqual(['version=swarm-4', 'version=swarm-4', 'version=swarm-4'])
  }, 180_000)

  test('a node cannot be reached over SSH → refused before anything in the Swarm changes', async () => {
    const before = await manager(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}', `${SERVICE}-blue`, `${SERVICE}-green`])
    // Node 3's line points at a port where no sshd listens.
    const hosts = [`${nodes[0].address}`, `${nodes[1].address}`, `${nodes[2].address}:2`].join('\n')
    const run = await runAction(inputs(images.v5.ref, { hosts }))
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::Refused before anything in the Swarm changed: every node that may run a task must be reachable over SSH')
    expect(run.stdout).toContain('bgn3 (10.250.0.13): Could not connect to 10.250.0.13:2: connection refused')
    const after = await manager(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}', `${SERVICE}-blue`, `${SERVICE}-green`])
    expect(after.stdout).toBe(before.stdout)
    for (const node of nodes) expect((await nodeDocker(node, ['image', 'inspect', images.v5.ref])).code).not.toBe(0)
    expect(await servedEverywhere()).toEqual(['version=swarm-4', 'version=swarm-4', 'version=swarm-4'])
  }, 120_000)

  test('rollback: true, with the previous image gone from one node → refused before anything in the Swarm changes', async () => {
    succeeded(await runAction(inputs(images.v1.ref)))
    succeeded(await runAction(inputs(images.v2.ref)))
    // The v1 service was just scaled to 0: a task still stopping on the node would keep the
    // image under -f (only its name goes). Its exited tasks still name it: -f takes it anyway.
    const deadline = Date.now() + 30_000
    while ((await nodeDocker(3, ['ps', '-q', '--filter', `ancestor=${images.v1.id}`])).stdout.trim() && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250))
    }
    expect((await nodeDocker(3, ['image', 'rm', '-f', images.v1.id])).code).toBe(0)
    expect((await nodeDocker(3, ['image', 'inspect', images.v1.id])).code).not.toBe(0)
    const specs = ['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.Mode.Replicated.Replicas}}', `${SERVICE}-blue`, `${SERVICE}-green`]
    const before = await manager(specs)
    const run = await runAction(inputs('', { rollback: 'true' }))
    expect(run.code).toBe(1)
    expect(run.stdout).toContain('::error::Every node that may run a task must hold the image; nothing in the Swarm changed:')
    expect(run.stdout).toContain(`bgn3 (10.250.0.13): the image ${images.v1.ref} (${images.v1.id}) is not on this node`)
    expect((await manager(specs)).stdout).toBe(before.stdout)
    expect(await servedEverywhere()).toEqual(['version=swarm-2', 'version=swarm-2', 'version=swarm-2'])
  }, 180_000)
})

describe('runs that died', () => {
  test('the runner is killed (SIGKILL) during the health check → the next deploy converges: one slot serves, the other is at 0 tasks', async () => {
    const live = (await runAction(inputs(images.v1.ref))).outputs.slot
    const idle = live === 'blue' ? 'green' : 'blue'
    const started = startAction(inputs(images.v5.ref, { 'health-path': '/no-such-page', 'health-timeout': '120' }))
    await eventually(async () => {
      if ((await replicas(`${SERVICE}-${idle}`)) !== '2') throw new Error('no candidate yet')
      const running = (await manager(['service', 'ps', '-q', '--filter', 'desired-state=running', `${SERVICE}-${idle}`])).stdout.trim().split('\n')
      if (running.length < 2) throw new Error('not every task yet')
    }, 120, 250)
    started.child.kill('SIGKILL')
    await started.done
    const load = loadEverywhere()
    const next = await runAction(inputs(images.v2.ref, { 'lock-timeout': '30' }))
    await expectNoneFailed(await load.stop())
    succeeded(next)
    expect(next.outputs.slot).toBe(idle)
    expect(await servedEverywhere()).toEqual(['version=swarm-2', 'version=swarm-2', 'version=swarm-2'])
    expect(await replicas(`${SERVICE}-${idle}`)).toBe('2')
    expect(await replicas(`${SERVICE}-${live}`)).toBe('0')
  }, 240_000)

  test('the run is cancelled (SIGINT) during the health check → the candidate service is gone within 4 s, and the live service serves', async () => {
    const live = (await runAction(inputs(images.v1.ref))).outputs.slot
    const idle = live === 'blue' ? 'green' : 'blue'
    const load = loadEverywhere()
    const started = startAction(inputs(images.v2.ref, { 'health-path': '/no-such-page', 'health-timeout': '120' }))
    await eventually(async () => {
      if ((await replicas(`${SERVICE}-${idle}`)) !== '2') throw new Error('no candidate yet')
    }, 120, 250)
    await new Promise((resolve) => setTimeout(resolve, 1500)) // into the health check's loops
    const cancelled = Date.now()
    started.child.kill('SIGINT')
    const run = await started.done
    expect(Date.now() - cancelled).toBeLessThan(4000)
    await expectNoneFailed(await load.stop())
    expect(run.code).toBe(1)
    expect(run.stdout).toContain(`::error::Cancelled before the switch: The Swarm is as before: ${SERVICE}-${live} (${images.v1.ref}) still serves`)
    expect(await replicas(`${SERVICE}-${idle}`)).toBe('missing')
    expect(await servedEverywhere()).toEqual(['version=swarm-1', 'version=swarm-1', 'version=swarm-1'])
  }, 240_000)

  test('a run died mid-switch (the proxies of the nodes disagree) → the next deploy points every node at the recorded live slot first, then goes live', async () => {
    // A deploy that keeps the other slot's service at 0 tasks, as a run that died would find it.
    const live = succeeded(await runAction(inputs(images.v2.ref))).outputs.slot
    const idle = live === 'blue' ? 'green' : 'blue'
    // What a killed switch leaves: the candidate runs, and node 3 already points at it.
    await manager(['service', 'scale', '-d', `${SERVICE}-${idle}=2`])
    await eventually(async () => {
      const running = (await manager(['service', 'ps', '-q', '--filter', 'desired-state=running', `${SERVICE}-${idle}`])).stdout.trim().split('\n')
      if (running.length < 2) throw new Error('not yet')
      if ((await served(nodes[2])) !== 'version=swarm-2') throw new Error('not yet')
    })
    const link = `/var/lib/bluegreen/_proxy/${NETWORK}/conf.d/bluegreen/${SERVICE}`
    expect((await nodeSsh(3, `ln -sfn slot-${idle} ${link}.next && mv -Tf ${link}.next ${link}`)).code).toBe(0)
    const load = loadEverywhere()
    const run = await runAction(inputs(images.v3.ref))
    await expectNoneFailed(await load.stop())
    succeeded(run)
    expect(run.stdout).toContain(`every node serves ${SERVICE}-${live} again first`)
    expect(run.outputs.slot).toBe(idle)
    expect(await servedEverywhere()).toEqual(['version=swarm-3', 'version=swarm-3', 'version=swarm-3'])
    expect(await replicas(`${SERVICE}-${live}`)).toBe('0')
  }, 240_000)
})

describe('swarm-update: rolling', () => {
  /** The user's own service, and an nginx of theirs in front (global, host mode), on the same network. */
  async function userStack(): Promise<void> {
    if ((await nodeDocker(1, ['network', 'inspect', NETWORK])).code !== 0) await manager(['network', 'create', '--driver', 'overlay', '--attachable', NETWORK])
    for (const node of nodes.slice(0)) {
      const copied = await runCommand('sh', ['-c', `docker save ${images.roll1.ref} | docker -H ${node.dockerHost} load`])
      expect(copied.code).toBe(0)
    }
    await manager(['service', 'create', '--detach', '--name', ROLL, '--network', NETWORK, '--endpoint-mode', 'dnsrr', '--replicas', '2',
      '--no-resolve-image', images.roll1.id])
    const conf = [
      'server {',
      '  listen 80 default_server;',
      '  resolver 127.0.0.11 valid=1s ipv6=off;',
      // A task that went away can stay in nginx's cache for a second: fail fast, then try the next.
      '  proxy_connect_timeout 1s;',
      `  location / { set $up tasks.${ROLL}:8080; proxy_pass http://$up; }`,
      '}'
    ].join('\n')
    for (const node of nodes) {
      const wrote = await nodeSsh(node, `mkdir -p /var/lib/bluegreen/${FRONT} && cat > /var/lib/bluegreen/${FRONT}/default.conf`, { input: conf })
      expect(wrote.code).toBe(0)
    }
    const nginx = (await manager(['image', 'inspect', '-f', '{{.Id}}', info.proxyImage])).stdout.trim()
    await manager(['service', 'create', '--detach', '--name', FRONT, '--mode', 'global', '--network', NETWORK,
      '--publish', `mode=host,target=80,published=${FRONT_PORT}`, '--mount', `type=bind,source=/var/lib/bluegreen/${FRONT},target=/etc/nginx/conf.d,readonly`,
      '--no-resolve-image', nginx])
    await eventually(async () => {
      const seen = await servedEverywhere(FRONT_PORT)
      if (seen.some((body) => body !== 'version=roll-1')) throw new Error(`not yet: ${seen.join(', ')}`)
    }, 120, 250)
  }

  const rolling = (image: string, extra: Record<string, string> = {}): Record<string, string> => {
    const { env: _env, replicas: _replicas, ...rest } = inputs(image, { 'swarm-update': 'rolling', service: ROLL, 'health-timeout': '120', ...extra })
    return rest
  }

  test('with swarm-update: rolling, start-first, through a proxy in front, under load on every node → 0 failed requests', async () => {
    await userStack()
    const load = loadEverywhere(FRONT_PORT)
    const run = await runAction(rolling(images.roll2.ref))
    await expectNoneFailed(await load.stop())
    succeeded(run)
    expect(run.stdout).toContain('UpdateStatus: completed')
    expect([run.outputs.image, run.outputs['image-id'], run.outputs['previous-image']]).toEqual([images.roll2.ref, images.roll2.id, images.roll1.id])
    const spec = (await manager(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.Spec.UpdateConfig.Order}}', ROLL])).stdout.trim()
    expect(spec).toBe(`${images.roll2.id} start-first`)
    expect(await servedEverywhere(FRONT_PORT)).toEqual(['version=roll-2', 'version=roll-2', 'version=roll-2'])
  }, 240_000)

  test('with swarm-update: rolling and rollback: true → the image the service ran before, start-first, with no transfer and 0 failed requests', async () => {
    const load = loadEverywhere(FRONT_PORT)
    const run = await runAction(rolling('', { rollback: 'true' }))
    await expectNoneFailed(await load.stop())
    succeeded(run)
    expect(run.stdout).toContain('UpdateStatus: completed')
    expect([run.outputs['image-id'], run.outputs['previous-image'], run.outputs['transferred-bytes']]).toEqual([images.roll1.id, images.roll2.id, '0'])
    expect(await servedEverywhere(FRONT_PORT)).toEqual(['version=roll-1', 'version=roll-1', 'version=roll-1'])
  }, 240_000)

  test('with swarm-update: rolling, a crashing image → Swarm rolls it back on its own, and the step fails saying so', async () => {
    const run = await runAction(rolling(images.rollCrash.ref))
    expect(run.code).toBe(1)
    expect(run.stdout).toMatch(/::error::The rolling update of sw-roll failed, and Swarm rolled it back on its own to its previous spec \(sha256:\w+\): task: non-zero exit \(3\)/)
    const spec = (await manager(['service', 'inspect', '-f', '{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.UpdateStatus.State}}', ROLL])).stdout.trim()
    expect(spec).toBe(`${images.roll1.id} rollback_completed`)
    expect(await servedEverywhere(FRONT_PORT)).toEqual(['version=roll-1', 'version=roll-1', 'version=roll-1'])
  }, 240_000)
})
