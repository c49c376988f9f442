import { PassThrough } from 'node:stream'
import { bashCommand, type Ssh } from '../ssh/connection.js'
import type { Challenge } from '../tls/acme.js'
import { accountKeyName, type CertificateRecord, type OrderRecord } from '../tls/store.js'
import { LOST_LOCK_EXIT, lostLock, type LockGuard, type Runner } from './guard.js'
import { proxyDir, proxyName, renewName, tlsDir } from './paths.js'
import { IN_PROXY, SCRIPTS } from './scripts.js'

// The remote steps of a deploy's TLS stage (rollout/tls.ts), on the proxy's certificate store
// (tls/store.ts): its state, its lock, the HTTP-01 answers, the account key, the install, the
// renewal container and, once, the proxy's recreation with the HTTPS port. Each changes the
// host only while the deploy lock is this run's (scripts/lib-lock-guard.sh).

export interface TlsState {
  /** uid:gid of the proxy's nginx workers; undefined when the proxy did not say. */
  owner?: string
  /** The renewal container: its image and state (status missing when there is none). */
  renew: { image?: string; status: string }
  /** What every service of the proxy has installed. */
  records: CertificateRecord[]
  /** What the renewal container renews. */
  orders: OrderRecord[]
}

export interface InstallSpec {
  id: string
  record: CertificateRecord
  keyPem: string
  chainPem: string
  /** What the daily pass renews; none for a custom certificate. */
  order?: OrderRecord
  /** uid:gid of the nginx workers. */
  owner: string
}

/** The proxy's recreation, in ms from the old nginx's QUIT: it exited, the new one started, answered. */
export interface Recreated {
  gapMs: number
  stoppedMs?: number
  startedMs?: number
}

export interface HeldLock {
  release(): Promise<void>
}

export interface HostTls {
  /** Makes the store if missing, then reads it (and the workers' user, the renewal container). */
  state(network: string): Promise<TlsState>
  /** Waits up to `waitSeconds` for the store's lock (a renewal pass holds it), then holds it until release. */
  lock(network: string, waitSeconds: number): Promise<HeldLock>
  /** HTTP-01 answers as files in the webroot the proxy serves. */
  challenge(network: string): Challenge
  accountKey(network: string, directoryUrl: string): Promise<string | undefined>
  /** The key of the service's installed certificate, which its renewal keeps; undefined: none. */
  certificateKey(network: string, id: string): Promise<string | undefined>
  saveAccountKey(network: string, directoryUrl: string, keyPem: string): Promise<void>
  install(network: string, spec: InstallSpec): Promise<void>
  /** The renewal order of a certificate that stays (one kept after a failed first deploy took its order away). */
  saveOrder(network: string, order: OrderRecord): Promise<void>
  /** Publishes the HTTPS port on a proxy that runs without it: a gap of `gapMs` (recreate-proxy.sh). */
  recreateProxy(network: string, port: number, httpsPort: number): Promise<Recreated>
  /** Starts or replaces the renewal container; says which. */
  ensureRenewal(network: string, image: string, owner: string, jitterSeconds: number, label: string): Promise<string>
}

/** The most a deploy holds the store's lock: an ACME order is bounded far below it. */
const HOLD_SECONDS = 900

const b64 = (text: string): string => Buffer.from(text, 'utf8').toString('base64')

function failure(what: string, result: { code: number; stdout: string; stderr: string }): Error {
  const said = result.stdout.split('\n').find((line) => line.startsWith('FAILED '))?.slice(7)
  return new Error(`${what}: ${said ?? (result.stderr.trim() || `exit ${result.code}`)}`)
}

/** The JSON after `prefix` on each line that has it; a file torn by a crash is left out. */
function jsonLines<T>(lines: string[], prefix: string): T[] {
  return lines
    .filter((line) => line.startsWith(prefix))
    .flatMap((line) => {
      try {
        return [JSON.parse(line.slice(prefix.length)) as T]
      } catch {
        return []
      }
    })
}

export function parseTlsState(stdout: string): TlsState {
  const lines = stdout.split('\n')
  const owner = lines.find((line) => line.startsWith('OWNER '))?.slice(6).trim()
  const [image, status] = (lines.find((line) => line.startsWith('RENEW '))?.slice(6) ?? 'none missing').trim().split(' ')
  return {
    owner: owner && /^\d+:\d+$/.test(owner) ? owner : undefined,
    renew: status === 'missing' ? { status } : { image, status: status ?? 'unknown' },
    // A torn record means a new certificate for its service; a torn order, a new order.
    records: jsonLines<CertificateRecord>(lines, 'FACTS '),
    orders: jsonLines<OrderRecord>(lines, 'ORDERS ')
  }
}

export function hostTls(ssh: Ssh, run: Runner, guard: () => LockGuard | undefined, service: () => string): HostTls {
  return {
    state: async (network) => {
      const result = await run(SCRIPTS.tlsState, [tlsDir(network), proxyName(network), renewName(network), IN_PROXY.owner])
      if (result.code !== 0) throw failure(`Could not read the certificate store of ${proxyName(network)}`, result)
      return parseTlsState(result.stdout)
    },
    lock: (network, waitSeconds) => holdLock(ssh, guard(), service(), [tlsDir(network), String(waitSeconds), String(HOLD_SECONDS)]),
    challenge: (network) => ({
      put: async (token, keyAuthorization) => {
        const result = await run(SCRIPTS.tlsChallenge, [tlsDir(network), 'put', token], { stdin: keyAuthorization })
        if (result.code !== 0) throw failure('Could not write the HTTP-01 answer on the host', result)
      },
      remove: async (token) => {
        await run(SCRIPTS.tlsChallenge, [tlsDir(network), 'remove', token])
      }
    }),
    accountKey: async (network, directoryUrl) => {
      const result = await run(SCRIPTS.tlsAccount, [tlsDir(network), 'read', accountKeyName(directoryUrl)])
      if (result.code !== 0) throw failure('Could not read the ACME account key on the host', result)
      return result.stdout.includes('PRIVATE KEY') ? result.stdout : undefined
    },
    certificateKey: async (network, id) => {
      const result = await run(SCRIPTS.tlsKey, [proxyName(network), id])
      // Not fatal: without it the renewal orders for a new key, as a first certificate does.
      return result.code === 0 && result.stdout.includes('PRIVATE KEY') ? result.stdout : undefined
    },
    saveAccountKey: async (network, directoryUrl, keyPem) => {
      const result = await run(SCRIPTS.tlsAccount, [tlsDir(network), 'save', accountKeyName(directoryUrl)], { stdin: keyPem })
      if (result.code !== 0) throw failure('Could not save the ACME account key on the host', result)
    },
    install: async (network, spec) => {
      const pem = `${spec.keyPem.trim()}\n${spec.chainPem.trim()}\n`
      const stdin = [b64(pem), b64(`${JSON.stringify(spec.record, null, 2)}\n`), spec.order ? b64(`${JSON.stringify(spec.order, null, 2)}\n`) : ''].join('\n') + '\n'
      const result = await run(SCRIPTS.tlsInstall, [tlsDir(network), spec.id, spec.owner, proxyName(network)], { stdin })
      if (result.code !== 0 || !result.stdout.includes('INSTALLED')) throw failure(`Could not install the certificate of ${spec.id}`, result)
    },
    saveOrder: async (network, order) => {
      const result = await run(SCRIPTS.tlsOrder, [tlsDir(network), order.id], { stdin: `${JSON.stringify(order, null, 2)}\n` })
      if (result.code !== 0) throw failure(`Could not save the renewal order of ${order.id}`, result)
    },
    recreateProxy: async (network, port, httpsPort) => {
      const result = await run(SCRIPTS.recreateProxy, [network, proxyName(network), String(port), String(httpsPort), proxyDir(network)])
      const ms = (name: string): number | undefined => {
        const found = new RegExp(`^${name} (\\d+)$`, 'm').exec(result.stdout)
        return found ? Number(found[1]) : undefined
      }
      const gapMs = ms('GAP')
      if (result.code !== 0 || gapMs === undefined) throw failure(`Could not recreate the proxy ${proxyName(network)} with port ${httpsPort}`, result)
      return { gapMs, stoppedMs: ms('STOPPED'), startedMs: ms('STARTED') }
    },
    ensureRenewal: async (network, image, owner, jitterSeconds, label) => {
      const args = [renewName(network), image, tlsDir(network), owner, String(jitterSeconds), label]
      const result = await run(SCRIPTS.ensureRenewal, args)
      if (result.code !== 0) throw failure(`Could not start the renewal container ${renewName(network)}`, result)
      return result.stdout.trim().split('\n').at(-1) ?? ''
    }
  }
}

/**
 * The lock is a bash on its own channel that holds flock until its stdin ends: held while the
 * runner talks to the CA, dropped at once if the run dies (the channel closes with it).
 */
async function holdLock(ssh: Ssh, guard: LockGuard | undefined, service: string, args: string[]): Promise<HeldLock> {
  const stdin = new PassThrough()
  let onLocked!: () => void
  const locked = new Promise<void>((resolve) => (onLocked = resolve))
  const command = bashCommand(SCRIPTS.tlsLock, [guard?.dir ?? '', guard ? String(guard.generation) : '', ...args])
  const done = ssh.exec(command, { stdin, onLine: (line) => line === 'LOCKED' && onLocked() })
  const ended = done.then((result) => {
    if (result.code === LOST_LOCK_EXIT && result.stderr.includes('LOST-LOCK')) throw lostLock(service)
    if (result.code === 75) {
      throw new Error(`The certificate store's lock stayed taken for ${args[1]} s (the renewal container's pass, or another deploy's)`)
    }
    throw new Error(`Could not take the certificate store's lock: ${result.stderr.trim() || `exit ${result.code}`}`)
  })
  ended.catch(() => undefined)
  await Promise.race([locked, ended])
  return {
    release: async () => {
      stdin.end()
      await done.catch(() => undefined)
    }
  }
}
