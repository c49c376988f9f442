import { entriesFor, knownHostsName, parseKnownHosts } from './hostkey.js'
import { sshHost, type Host } from '../host/index.js'
import type { Inputs } from '../inputs.js'
import { Ssh } from './connection.js'
import type { HostKeyCheck } from './verify.js'

/** known-hosts, fingerprint, or both: given both, the host key must pass both (verify.ts). */
export function hostKeyCheck(inputs: Inputs): HostKeyCheck {
  if (inputs.knownHosts.trim()) {
    const entries = entriesFor(parseKnownHosts(inputs.knownHosts), inputs.host, inputs.port)
    const name = knownHostsName(inputs.host, inputs.port)
    return { kind: 'known-hosts', name, entries, fingerprints: inputs.fingerprints }
  }
  if (inputs.fingerprints.length > 0) return { kind: 'fingerprint', fingerprints: inputs.fingerprints }
  return { kind: 'none' }
}

/**
 * A verified SSH connection to the host, and a second one for the deploy lock's heartbeat (which
 * the image stream must not hold up), pinned to the key the first accepted. The second shakes
 * hands beside the first, so once the check is done the lock waits on one round trip, not on a
 * second login (0.2-0.3 s at 40-80 ms RTT). It offers its key only once the first has logged in
 * with the same host key: a refused login is tried once, not twice.
 */
export async function connectHost(inputs: Inputs): Promise<Host> {
  const options = sshOptions(inputs)
  const first = Ssh.connect({ ...options, hostKey: hostKeyCheck(inputs) })
  const lock = Ssh.connect({ ...options, hostKey: { kind: 'same-key', fingerprint: first.then((ssh) => ssh.hostKeyFingerprint) } })
  lock.catch(() => undefined) // reported by the lock's acquire(), or moot once the first failed
  let ssh: Ssh
  try {
    ssh = await first
  } catch (error) {
    void lock.then((connection) => connection.close(), () => undefined)
    throw error
  }
  return sshHost(ssh, () => lock, lock)
}

function sshOptions(inputs: Inputs) {
  return {
    host: inputs.host,
    port: inputs.port,
    username: inputs.username,
    key: inputs.key,
    passphrase: inputs.passphrase,
    timeout: inputs.timeout
  }
}

/** connectHost's host (its lock's connection opened only when asked), with its SSH connection for steps of the caller's own (a Swarm's, host/swarm.ts). */
export async function connectHostAndShell(inputs: Inputs): Promise<{ host: Host; ssh: Ssh }> {
  const options = sshOptions(inputs)
  const ssh = await Ssh.connect({ ...options, hostKey: hostKeyCheck(inputs) })
  const host = sshHost(ssh, () => Ssh.connect({ ...options, hostKey: { kind: 'same-key', fingerprint: ssh.hostKeyFingerprint } }))
  return { host, ssh }
}
