// What a test that deploys to several hosts, or to a Swarm, relies on in the sandbox's nodes
// (sandbox/nodes.sh): each is its own server behind its own SSH host key, with its own engine,
// /var/lib and boot ID, no DNS, and with --swarm an overlay network between them.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { onThisMachine, runnerBootId } from '../../src/transfer/link.js'
import { httpGet } from '../../sandbox/load.js'
import { ensureNodes, mustNodeDocker, nodeDocker, nodeSsh, type NodeInfo, type NodesInfo } from '../../sandbox/nodes.js'
import { hostDocker, readSandboxInfo } from '../../sandbox/sandbox.js'

// jest 29 reads testTimeout only at the top level, not per project, so each test sets its own.
const TIMEOUT_MS = 90_000
const run = `t${process.pid}`
let info: NodesInfo
let nodes: NodeInfo[]
let scratch: string
const services: string[] = []
const networks: string[] = []

beforeAll(async () => {
  info = await ensureNodes({ count: 3, swarm: true })
  nodes = info.nodes
  scratch = mkdtempSync(join(tmpdir(), 'bgn-test-'))
}, 15 * 60_000)

afterAll(async () => {
  if (!info) return
  for (const s of services) await nodeDocker(1, ['service', 'rm', s])
  for (const n of networks) await nodeDocker(1, ['network', 'rm', n])
  // The manager removes them at once; each node's task containers go a moment later: leave the
  // nodes as clean as they were.
  await eventually(async () => {
    for (const n of nodes) {
      const left = (await mustNodeDocker(n, ['ps', '-aq', '--filter', `name=${run}-`])).stdout.trim()
      if (left) throw new Error(`${n.name} still has task containers: ${left}`)
    }
  }, 80, 250).catch((e: unknown) => process.stderr.write(`${String(e)}\n`))
  rmSync(scratch, { recursive: true, force: true })
}, TIMEOUT_MS)

/** Polls `fn` (bounded) until it returns a value, or throws the last error. */
async function eventually<T>(fn: () => Promise<T>, tries = 60, delayMs = 500): Promise<T> {
  let last: unknown
  for (let i = 0; i < tries; i++) {
    try {
      return await fn()
    } catch (e) {
      last = e
      await new Promise((r) => setTimeout(r, delayMs))
    }
  }
  throw last
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0] ?? ''
}

describe('each node is a server of its own', () => {
  test('three nodes on their own addresses, with distinct host keys', () => {
    expect(nodes.map((n) => [n.name, n.address, n.port])).toEqual([
      ['bgn1', '10.250.0.11', 22],
      ['bgn2', '10.250.0.12', 22],
      ['bgn3', '10.250.0.13', 22]
    ])
    const fingerprints = nodes.map((n) => n.fingerprint)
    expect(new Set([...fingerprints, readSandboxInfo().fingerprint]).size).toBe(4)
    for (const n of nodes) expect(n.knownHosts).toMatch(new RegExp(`^${n.address.replace(/\./g, '\\.')} ssh-ed25519 `, 'm'))
  })

  test('the deploy user logs in to each node with its pinned host key, and only with it', async () => {
    for (const n of nodes) {
      const own = join(scratch, `known_hosts.${n.name}`)
      writeFileSync(own, n.knownHosts)
      const r = await nodeSsh(n, 'hostname; id -un', { knownHostsPath: own })
      expect(r.stderr).toBe('')
      expect(r.stdout.trim().split('\n')).toEqual([n.name, info.user])
    }
    // Node 1's keys written down for node 2's address: the login must be refused.
    const wrong = join(scratch, 'known_hosts.wrong')
    writeFileSync(wrong, nodes[0].knownHosts.replaceAll(nodes[0].address, nodes[1].address))
    const r = await nodeSsh(nodes[1], 'true', { knownHostsPath: wrong })
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(/host key|HOST IDENTIFICATION/i)
  }, TIMEOUT_MS)

  test('docker over SSH reaches the node\'s own engine, which the runner reaches by its socket', async () => {
    const seen = new Set<string>()
    for (const n of nodes) {
      const viaSsh = await nodeSsh(n, 'docker info --format "{{.ID}} {{.Name}} {{.DockerRootDir}}"')
      expect(viaSsh.stderr).toBe('')
      const [id, name, root] = firstLine(viaSsh.stdout).split(' ')
      expect(name).toBe(n.name)
      expect(root).toBe('/var/lib/docker')
      expect(id).toBe(n.engineId)
      expect(firstLine((await mustNodeDocker(n, ['info', '--format', '{{.ID}}'])).stdout)).toBe(id)
      seen.add(id)
    }
    const sandboxHost = firstLine((await hostDocker(['info', '--format', '{{.ID}}'])).stdout)
    seen.add(sandboxHost)
    expect(seen.size).toBe(nodes.length + 1)
  }, TIMEOUT_MS)

  test('each node reports its own boot ID, so the action does not take it for the runner\'s machine', async () => {
    const runner = runnerBootId()
    expect(runner).toMatch(/^[0-9a-f-]{36}$/)
    const boots = new Set<string>()
    for (const n of nodes) {
      const boot = firstLine((await nodeSsh(n, 'cat /proc/sys/kernel/random/boot_id')).stdout)
      expect(boot).toMatch(/^[0-9a-f-]{36}$/)
      expect(boot).toBe(n.bootId)
      expect(onThisMachine(boot, runner)).toBe(false)
      boots.add(boot)
    }
    expect(boots.size).toBe(nodes.length)
    expect(boots.has(runner ?? '')).toBe(false)
  }, TIMEOUT_MS)

  test('/var/lib/bluegreen is the deploy user\'s on each node, and each node\'s own', async () => {
    const marker = `.nodes-test-${run}`
    for (const n of nodes) {
      const r = await nodeSsh(n, `stat -c '%U:%G %a' ${info.actionStateDir} && touch ${info.actionStateDir}/${marker}`)
      expect(r.stdout.trim()).toBe(`${info.user}:docker 2775`)
      expect(r.code).toBe(0)
    }
    try {
      // Written through node 1's sshd: in node 1's /var/lib only, not the runner's.
      expect(existsSync(`${nodes[0].varLib}/bluegreen/${marker}`)).toBe(true)
      expect(existsSync(`${info.actionStateDir}/${marker}`)).toBe(false)
    } finally {
      for (const n of nodes) await nodeSsh(n, `rm -f ${info.actionStateDir}/${marker}`)
    }
  }, TIMEOUT_MS)

  test('each node has the proxy image the sandbox host has, and the busybox base', async () => {
    const want = firstLine((await hostDocker(['image', 'inspect', '--format', '{{.Id}}', info.proxyImage])).stdout)
    expect(want).toMatch(/^sha256:/)
    for (const n of nodes) {
      expect(firstLine((await mustNodeDocker(n, ['image', 'inspect', '--format', '{{.Id}}', info.proxyImage])).stdout)).toBe(want)
      expect((await nodeDocker(n, ['image', 'inspect', info.baseImage])).code).toBe(0)
    }
  }, TIMEOUT_MS)

  test('DNS lookups fail at once on each node instead of hanging', async () => {
    for (const n of nodes) {
      const t0 = Date.now()
      const r = await nodeDocker(n, ['run', '--rm', info.baseImage, 'nslookup', 'example.com'], { timeoutMs: 20_000 })
      const ms = Date.now() - t0
      expect(r.code).not.toBe(0)
      expect(r.stdout + r.stderr).toMatch(/refused|can't resolve|no servers/i)
      expect(ms).toBeLessThan(2000)
    }
    // The node's own processes too (a resolv.conf of its own).
    expect(readFileSync(`/var/lib/bluegreen-sandbox/nodes/1/etc/resolv.conf`, 'utf8')).toContain(`nameserver ${nodes[0].address}`)
    const t0 = Date.now()
    const r = await nodeSsh(1, 'getent hosts example.com')
    expect(r.code).not.toBe(0)
    expect(Date.now() - t0).toBeLessThan(2000 + 1000) // + the SSH login
  }, TIMEOUT_MS)
})

describe('the Swarm', () => {
  test('node 1 manages it; the other nodes joined as workers and are Ready', async () => {
    expect(info.swarm).not.toBeNull()
    expect(info.swarm?.managerAddress).toBe('10.250.0.11:2377')
    expect(info.swarm?.workers).toEqual(['bgn2', 'bgn3'])
    const list = (await mustNodeDocker(1, ['node', 'ls', '--format', '{{.Hostname}} {{.Status}} {{.ManagerStatus}}'])).stdout
    expect(list.trim().split('\n').map((l) => l.trim()).sort()).toEqual(['bgn1 Ready Leader', 'bgn2 Ready', 'bgn3 Ready'])
  }, TIMEOUT_MS)

  test('an overlay network carries traffic across nodes: tasks.<service> from bgn3 reaches replicas on bgn1 and bgn2', async () => {
    const net = `${run}-ov`
    const svc = `${run}-echo`
    await mustNodeDocker(1, ['network', 'create', '--driver', 'overlay', '--attachable', net])
    networks.push(net)
    // dnsrr: no service VIP (this kernel has no IPVS); one replica each on bgn1 and bgn2, each
    // serving its node's name.
    await mustNodeDocker(1, [
      'service', 'create', '--detach', '--no-resolve-image', '--name', svc, '--stop-grace-period', '1s', '--network', net,
      '--endpoint-mode', 'dnsrr', '--replicas', '2', '--replicas-max-per-node', '1',
      '--constraint', 'node.hostname!=bgn3', '--hostname', '{{.Node.Hostname}}',
      info.baseImage, 'sh', '-c', 'mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www'
    ])
    services.push(svc)
    // From a container on bgn3, attached to the same overlay: resolve the tasks, GET each one.
    // (busybox wget crashes in this static busybox; nc speaks the HTTP.)
    const probe = [
      `ips=$(nslookup tasks.${svc} 2>/dev/null | awk '/^Address/ && !/:53$/ {print $2}' | sort)`,
      'echo ips: $ips',
      'for ip in $ips; do printf "GET / HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$ip" 8080 | tail -n 1; done'
    ].join('; ')
    const out = await eventually(async () => {
      const r = await mustNodeDocker(3, ['run', '--rm', '--network', net, info.baseImage, 'sh', '-c', probe], { timeoutMs: 30_000 })
      const lines = r.stdout.trim().split('\n')
      const ips = (lines[0] ?? '').replace(/^ips: /, '').split(/\s+/).filter(Boolean)
      const served = lines.slice(1).map((l) => l.trim()).sort()
      if (ips.length !== 2 || served.join(',') !== 'bgn1,bgn2') throw new Error(`not yet: ${r.stdout}`)
      return { ips, served }
    }, 40, 500)
    expect(out.served).toEqual(['bgn1', 'bgn2'])
    const tasks = (await mustNodeDocker(1, ['service', 'ps', svc, '--filter', 'desired-state=running', '--format', '{{.Node}}'])).stdout
    expect(tasks.trim().split('\n').sort()).toEqual(['bgn1', 'bgn2'])
  }, TIMEOUT_MS)

  test('a service published with mode=host answers on its node\'s address, from the runner', async () => {
    const svc = `${run}-pub`
    const port = 18000 + (process.pid % 1000)
    await mustNodeDocker(1, [
      'service', 'create', '--detach', '--no-resolve-image', '--name', svc, '--stop-grace-period', '1s',
      '--publish', `mode=host,target=8080,published=${port}`, '--constraint', 'node.hostname==bgn2',
      '--hostname', '{{.Node.Hostname}}',
      info.baseImage, 'sh', '-c', 'mkdir -p /www && hostname >/www/index.html && exec httpd -f -p 8080 -h /www'
    ])
    services.push(svc)
    const reply = await eventually(() => httpGet(`http://${nodes[1].address}:${port}/`, { timeoutMs: 3000 }), 60, 500)
    expect(reply.status).toBe(200)
    expect(reply.body.trim()).toBe('bgn2')
  }, TIMEOUT_MS)
})
