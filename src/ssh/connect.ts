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

/** One verified SSH connection to the host. */
export async function connectHost(inputs: Inputs): Promise<Host> {
  const ssh = await Ssh.connect({
    host: inputs.host,
    port: inputs.port,
    username: inputs.username,
    key: inputs.key,
    passphrase: inputs.passphrase,
    timeout: inputs.timeout,
    hostKey: hostKeyCheck(inputs)
  })
  return sshHost(ssh)
}
