// A WAN between the runner and a node, for benchmarks: latency from sandbox/relay.ts (this kernel
// has no netem) and bandwidth from `nodes.sh shape` (tbf on both ends of the node's veth pair).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import net from 'node:net'
import { startRelay } from '../../sandbox/relay.js'
import { ensureNodes, nodeSsh, nodeSshArgs, shapeNode, unshapeNode, type NodeInfo, type NodesInfo } from '../../sandbox/nodes.js'

const TIMEOUT_MS = 90_000
const MB = 1_000_000
let info: NodesInfo
let node: NodeInfo

beforeAll(async () => {
  info = await ensureNodes({ count: 3, swarm: true })
  node = info.nodes[2]
}, 15 * 60_000)

afterAll(async () => {
  if (info) await unshapeNode(node)
}, TIMEOUT_MS)

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** A TCP echo server on 127.0.0.1. */
async function echoServer(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer((s) => s.pipe(s))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const port = (server.address() as net.AddressInfo).port
  return { port, close: () => new Promise((r) => server.close(() => r())) }
}

/** Sends `data` through a fresh connection and resolves with what came back once `data.length` bytes did. */
function roundTrip(port: number, data: Buffer): Promise<{ back: Buffer; ms: number }> {
  return new Promise((resolve, reject) => {
    const t0 = Date.now()
    const got: Buffer[] = []
    let n = 0
    const sock = net.connect(port, '127.0.0.1', () => sock.write(data))
    const timer = setTimeout(() => sock.destroy(new Error('round trip timed out')), 30_000)
    sock.on('data', (b: Buffer) => {
      got.push(b)
      n += b.length
      if (n >= data.length) {
        clearTimeout(timer)
        sock.destroy()
        resolve({ back: Buffer.concat(got), ms: Date.now() - t0 })
      }
    })
    sock.on('error', (e) => {
      clearTimeout(timer)
      reject(e)
    })
  })
}

/** Wall time of one `ssh <node> true` (a full login), through a relay when `via` is set. */
async function loginMs(via?: { host: string; port: number }): Promise<number> {
  const t0 = Date.now()
  const r = await nodeSsh(node, 'true', { via, timeoutMs: 30_000 })
  if (r.code !== 0) throw new Error(`ssh failed: ${r.stderr}`)
  return Date.now() - t0
}

/** Payload rate of `bytes` zeros sent by the node over SSH, from the first byte to the last, in Mbit/s. */
function downloadMbit(bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn('ssh', [...nodeSshArgs(info, node), '--', `head -c ${bytes} /dev/zero`], { stdio: ['ignore', 'pipe', 'pipe'] })
    let first = 0
    let got = 0
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.on('data', (b: Buffer) => {
      if (got === 0) first = performance.now()
      got += b.length
    })
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0 || got !== bytes) reject(new Error(`ssh download: exit ${code}, ${got} of ${bytes} bytes`))
      else resolve((bytes * 8) / ((performance.now() - first) / 1000) / MB)
    })
  })
}

/** Payload rate of `bytes` zeros sent to the node over SSH, timed by the node from its first read to its last, in Mbit/s. */
async function uploadMbit(bytes: number): Promise<number> {
  const r = await nodeSsh(node, 's=$(date +%s%N); n=$(wc -c); e=$(date +%s%N); echo "$n $(( (e - s) / 1000 ))"', {
    input: Buffer.alloc(bytes),
    timeoutMs: 60_000
  })
  const [n, us] = r.stdout.trim().split(' ').map(Number)
  if (r.code !== 0 || n !== bytes) throw new Error(`ssh upload: exit ${r.code}, ${r.stdout} ${r.stderr}`)
  return (bytes * 8) / (us / 1e6) / MB
}

describe('relay.ts', () => {
  test('adds its delay each way, keeps bytes in order and holds a bounded amount', async () => {
    const echo = await echoServer()
    const maxQueuedBytes = 256 * 1024
    const relay = await startRelay({ target: { host: '127.0.0.1', port: echo.port }, delayMs: 25, maxQueuedBytes })
    try {
      const direct = await roundTrip(echo.port, Buffer.from('ping'))
      const delayed = await roundTrip(relay.port, Buffer.from('ping'))
      expect(delayed.back.toString()).toBe('ping')
      expect(delayed.ms).toBeGreaterThanOrEqual(50)
      expect(delayed.ms - direct.ms).toBeLessThan(50 + 100)
      // 8 MiB of counting bytes: each comes back, in order, while the relay holds at most its
      // bound (plus the one read that crossed it) per direction.
      const data = Buffer.alloc(8 * 1024 * 1024, 0)
      for (let i = 0; i < data.length; i += 4) data.writeUInt32BE(i / 4, i)
      const big = await roundTrip(relay.port, data)
      const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
      expect(big.back.length).toBe(data.length)
      expect(sha(big.back)).toBe(sha(data))
      expect(relay.stats.maxQueued).toBeLessThanOrEqual(maxQueuedBytes + 128 * 1024)
      expect(relay.stats.bytesUp).toBe(data.length + 4) // and the one ping
    } finally {
      await relay.close()
      await echo.close()
    }
  }, TIMEOUT_MS)
})

describe('a WAN to a node', () => {
  test('an SSH login through a 40 ms round-trip relay takes measurably longer than a direct one', async () => {
    const relay = await startRelay({ target: { host: node.address, port: node.port }, delayMs: 20, maxMs: 60_000 })
    try {
      const direct: number[] = []
      const relayed: number[] = []
      for (let i = 0; i < 3; i++) {
        direct.push(await loginMs())
        relayed.push(await loginMs({ host: '127.0.0.1', port: relay.port }))
      }
      process.stderr.write(`ssh login: direct ${direct.join(', ')} ms; at 40 ms RTT ${relayed.join(', ')} ms\n`)
      // A login is several round trips (version, key exchange, auth, session, exec): at least 3.
      expect(median(relayed) - median(direct)).toBeGreaterThanOrEqual(3 * 40)
      expect(relay.stats.connections).toBe(3)
    } finally {
      await relay.close()
    }
  }, TIMEOUT_MS)

  test('a link shaped to 20 Mbit/s carries a bulk transfer at 20 Mbit/s (±15%) each way', async () => {
    const bytes = 8 * MB
    await shapeNode(node, '20mbit')
    let down: number
    let up: number
    try {
      down = await downloadMbit(bytes)
      up = await uploadMbit(bytes)
    } finally {
      await unshapeNode(node)
    }
    const free = await downloadMbit(bytes)
    process.stderr.write(`shaped 20mbit: down ${down.toFixed(1)}, up ${up.toFixed(1)} Mbit/s; unshaped down ${free.toFixed(0)} Mbit/s\n`)
    for (const rate of [down, up]) {
      expect(rate).toBeGreaterThan(20 * 0.85)
      expect(rate).toBeLessThan(20 * 1.15)
    }
    expect(free).toBeGreaterThan(3 * 20)
  }, TIMEOUT_MS)
})
