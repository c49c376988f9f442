import { normalFingerprint } from '../ssh/hostkey.js'
import { HOST_FORM } from '../validate.js'

// The servers of one step: `host` (one), or `hosts`, one per line: `host[:port] [fingerprint...]`,
// with an IPv6 address in brackets ([2001:db8::1]:2222). A line's fingerprints pin that host's
// key; without any, the step's `fingerprint` and `known-hosts` apply, as for `host`.

export interface HostTarget {
  host: string
  port: number
  /** This host's own pins; empty: the step's fingerprint input. */
  fingerprints: string[]
}

/** At most this many hosts in one step: each costs two SSH connections and a share of the runner. */
export const MAX_HOSTS = 50

export function parseHosts(text: string, defaultPort: number): HostTarget[] {
  const targets: HostTarget[] = []
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) return
    const [address, ...pins] = line.split(/\s+/)
    const where = `hosts: line ${index + 1}`
    const { host, port } = splitAddress(address, defaultPort, where)
    if (!HOST_FORM.test(host)) throw new Error(`${where}: expected host[:port] [fingerprint], with a host name or IP address, got "${address}"`)
    for (const pin of pins) {
      if (!/^SHA256:[A-Za-z0-9+/]{43}=?$/i.test(pin)) throw new Error(`${where}: expected the SHA256:... form of ssh-keygen -lf after the address, got "${pin}"`)
    }
    targets.push({ host, port, fingerprints: pins.map(normalFingerprint) })
  })
  const seen = new Set<string>()
  for (const target of targets) {
    const key = `${target.host}:${target.port}`
    if (seen.has(key)) throw new Error(`hosts: ${key} is listed twice`)
    seen.add(key)
  }
  if (targets.length > MAX_HOSTS) throw new Error(`hosts: ${targets.length} hosts, more than the ${MAX_HOSTS} allowed in one step`)
  return targets
}

function splitAddress(address: string, defaultPort: number, where: string): { host: string; port: number } {
  const bracketed = /^\[([0-9A-Fa-f:.]+)\](?::(\d+))?$/.exec(address)
  const plain = /^([^:\s]+)(?::(\d+))?$/.exec(address)
  const match = bracketed ?? plain
  if (!match) throw new Error(`${where}: expected host[:port], got "${address}"`)
  const port = match[2] === undefined ? defaultPort : Number(match[2])
  if (!(port >= 1 && port <= 65535)) throw new Error(`${where}: the port must be 1 to 65535, got ${match[2]}`)
  return { host: match[1], port }
}
