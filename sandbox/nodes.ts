// The sandbox's "remote servers" (nodes.sh) seen from TypeScript: start them, read their info, and
// run docker against a node's engine or a command on it over SSH. Only node built-ins, like
// sandbox.ts, so jest tests and `tsx` scripts share it.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runCommand, type ExecOptions, type ExecResult } from './sandbox.js'

export const NODES_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), 'nodes.sh')
export const NODES_INFO_PATH = '/var/lib/bluegreen-sandbox/nodes/info.json'

export interface NodeInfo {
  /** 1..count */
  index: number
  /** bgn<index>: the network namespace, the node's hostname and its Swarm node name. */
  name: string
  /** 10.250.0.(10+index): where the runner reaches it, and its Swarm advertise address. */
  address: string
  /** The node's sshd port (22). */
  port: number
  /** SHA256:... of the node's ed25519 host key, as `ssh-keygen -lf` prints it. */
  fingerprint: string
  fingerprints: { ed25519: string; rsa: string }
  /** known_hosts lines for `address` (both host keys), newline-terminated. */
  knownHosts: string
  /** unix:///run/bluegreen-sandbox/nodes/<i>/docker.sock: the node's engine, from the runner. */
  dockerHost: string
  /** `docker info` ID of the node's engine. */
  engineId: string
  /** The kernel boot ID the node's processes see (not the runner's). */
  bootId: string
  netns: string
  /** The node's /var/lib as the runner sees it. */
  varLib: string
  logDir: string
}

export interface SwarmInfo {
  /** 10.250.0.11:2377: node 1, the only manager. */
  managerAddress: string
  clusterId: string
  managers: string[]
  workers: string[]
  workerToken: string
  managerToken: string
}

export interface NodesInfo {
  count: number
  bridge: string
  gateway: string
  subnet: string
  /** The login user on every node: the sandbox's deploy user (docker group, owns /var/lib/bluegreen). */
  user: string
  /** The sandbox's private key, authorized for `user` (and root) on every node. */
  keyPath: string
  /** known_hosts lines of every node. */
  knownHostsPath: string
  proxyImage: string
  /** A busybox image on every node (the fixtures' bluegreen-sandbox/app-base:p0-r0). */
  baseImage: string
  actionStateDir: string
  nodes: NodeInfo[]
  swarm: SwarmInfo | null
}

export interface NodesOptions {
  /** Number of nodes; default 3. */
  count?: number
  /** Make (or keep) a Swarm of them: node 1 the manager, the others workers. */
  swarm?: boolean
}

/** Cold `up` may install packages and start the sandbox itself. */
const UP_TIMEOUT_MS = 15 * 60_000
/** `count:swarm` once `up` succeeded, so jest workers forked after globalSetup only read info.json. */
const READY_ENV = 'BLUEGREEN_NODES_READY'

let upPromise: Promise<NodesInfo> | undefined
let upKey: string | undefined

/**
 * Brings the nodes up (`nodes.sh up`, its output streamed to stderr) once per process for the
 * same options, and returns their info. Throws with the output tail when they cannot start.
 */
export function ensureNodes(opts: NodesOptions = {}): Promise<NodesInfo> {
  const count = opts.count ?? 3
  const key = `${count}:${opts.swarm ? 'swarm' : 'plain'}`
  if (process.env[READY_ENV] === key && existsSync(NODES_INFO_PATH)) return Promise.resolve(readNodesInfo())
  if (upKey !== key) upPromise = undefined
  upKey = key
  upPromise ??= runUp(count, opts.swarm ?? false).then(
    (info) => {
      process.env[READY_ENV] = key
      return info
    },
    (e: unknown) => {
      upPromise = undefined
      throw e
    }
  )
  return upPromise
}

function runUp(count: number, swarm: boolean): Promise<NodesInfo> {
  const args = [NODES_SCRIPT, 'up', '--count', String(count), ...(swarm ? ['--swarm'] : [])]
  return new Promise((resolve, reject) => {
    const child = spawn('bash', args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let tail = ''
    const keep = (b: Buffer): void => {
      process.stderr.write(b)
      tail = (tail + b.toString()).slice(-6000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => child.kill('SIGKILL'), UP_TIMEOUT_MS)
    child.on('error', (e) => {
      clearTimeout(timer)
      reject(new Error(`cannot run ${NODES_SCRIPT}: ${e.message}`))
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      if (code !== 0) {
        reject(new Error(`nodes.sh up failed (${signal ?? `exit ${code}`}):\n${tail}`))
        return
      }
      try {
        resolve(readNodesInfo())
      } catch (e) {
        reject(e)
      }
    })
  })
}

/** Reads info.json written by `nodes.sh up`; throws if the nodes were never started. */
export function readNodesInfo(): NodesInfo {
  if (!existsSync(NODES_INFO_PATH)) throw new Error(`${NODES_INFO_PATH} is missing: run sandbox/nodes.sh up`)
  return JSON.parse(readFileSync(NODES_INFO_PATH, 'utf8')) as NodesInfo
}

/** A node by index (1-based) or name, from `info` (default: info.json). */
export function nodeInfo(node: NodeInfo | number | string, info?: NodesInfo): NodeInfo {
  if (typeof node === 'object') return node
  const all = (info ?? readNodesInfo()).nodes
  const found = all.find((n) => n.index === node || n.name === node)
  if (!found) throw new Error(`no node ${node}: the nodes are ${all.map((n) => n.name).join(', ')}`)
  return found
}

/** `docker ARGS` against a node's own engine, from the runner. Never throws on non-zero. */
export function nodeDocker(node: NodeInfo | number | string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  // A DOCKER_CONTEXT from the caller's shell must not redirect us to some other engine.
  const env: NodeJS.ProcessEnv = { ...process.env, ...opts.env, DOCKER_HOST: nodeInfo(node).dockerHost }
  delete env.DOCKER_CONTEXT
  return runCommand('docker', args, { ...opts, env })
}

/** nodeDocker that throws with stderr on a non-zero exit. */
export async function mustNodeDocker(node: NodeInfo | number | string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const r = await nodeDocker(node, args, opts)
  if (r.code !== 0) {
    throw new Error(`node ${nodeInfo(node).name}: docker ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`)
  }
  return r
}

export interface NodeSshOptions {
  /** Login user; default info.user (the deploy user). */
  user?: string
  keyPath?: string
  /** known_hosts file; default info.knownHostsPath (every node's keys). */
  knownHostsPath?: string
  /** Connect here instead of the node's own address:port (a relay in front of it). */
  via?: { host: string; port: number }
}

/**
 * The system `ssh` arguments that reach a node with host key checking on. Through a relay
 * (`via`), the node's own key is still the one required (HostKeyAlias).
 */
export function nodeSshArgs(info: NodesInfo, node: NodeInfo, opts: NodeSshOptions = {}): string[] {
  return [
    '-F', '/dev/null',
    '-i', opts.keyPath ?? info.keyPath,
    '-p', String(opts.via?.port ?? node.port),
    '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', `UserKnownHostsFile=${opts.knownHostsPath ?? info.knownHostsPath}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', `HostKeyAlias=${node.address}`,
    '-o', 'ConnectTimeout=10',
    '-o', 'LogLevel=ERROR',
    `${opts.user ?? info.user}@${opts.via?.host ?? node.address}`
  ]
}

/** Runs a shell command on a node through its sshd, as a user of it would (default: the deploy user). */
export function nodeSsh(node: NodeInfo | number | string, command: string, opts: NodeSshOptions & ExecOptions = {}): Promise<ExecResult> {
  const info = readNodesInfo()
  return runCommand('ssh', [...nodeSshArgs(info, nodeInfo(node, info), opts), '--', command], opts)
}

async function nodesScript(args: string[]): Promise<void> {
  const r = await runCommand('bash', [NODES_SCRIPT, ...args], { timeoutMs: 60_000 })
  if (r.code !== 0) throw new Error(`nodes.sh ${args.join(' ')} failed (exit ${r.code}): ${r.stderr.trim()}`)
}

/**
 * Caps a node's link at `rate` (tc's syntax, e.g. '20mbit') each way, with tbf on both ends of its
 * veth pair. Latency comes from sandbox/relay.ts: this kernel has no netem.
 */
export function shapeNode(node: NodeInfo | number | string, rate: string): Promise<void> {
  return nodesScript(['shape', String(nodeInfo(node).index), rate])
}

/** Removes a node's shaping (all nodes' without an argument). */
export function unshapeNode(node?: NodeInfo | number | string): Promise<void> {
  return nodesScript(['unshape', ...(node === undefined ? [] : [String(nodeInfo(node).index)])])
}
