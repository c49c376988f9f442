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
 * A verified SSH connection to the host, and a second one on demand for the deploy lock's
 * heartbeat (which the image stream must not hold up), pinned to the key the first accepted.
 */
export async function connectHost(inputs: Inputs): Promise<Host> {
  return (await connectHostAndShell(inputs)).host
}

/** connectHost's host, with its SSH connection for steps of the caller's own (a Swarm's, host/swarm.ts). */
export async function connectHostAndShell(inputs: Inputs): Promise<{ host: Host; ssh: Ssh }> {
  const options = {
    host: inputs.host,
    port: inputs.port,
    username: inputs.username,
    key: inputs.key,
    passphrase: inputs.passphrase,
    timeout: inputs.timeout
  }
  const ssh = await Ssh.connect({ ...options, hostKey: hostKeyCheck(inputs) })
  const host = sshHost(ssh, () => Ssh.connect({ ...options, hostKey: { kind: 'same-key', fingerprint: ssh.hostKeyFingerprint } }))
  return { host, ssh }
}
