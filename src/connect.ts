import { entriesFor, knownHostsName, parseKnownHosts } from './hostkey.js'
import { sshHost, type Host } from './host/index.js'
import { preflight } from './host/preflight.js'
import type { Inputs } from './inputs.js'
import { Ssh } from './ssh.js'
import type { HostKeyCheck } from './ssh-verify.js'

export function hostKeyCheck(inputs: Inputs): HostKeyCheck {
  if (inputs.knownHosts.trim()) {
    const entries = entriesFor(parseKnownHosts(inputs.knownHosts), inputs.host, inputs.port)
    return { kind: 'known-hosts', name: knownHostsName(inputs.host, inputs.port), entries }
  }
  if (inputs.fingerprints.length > 0) return { kind: 'fingerprint', fingerprints: inputs.fingerprints }
  return { kind: 'none' }
}

/** One verified SSH connection, and the host's answer to the preflight checks. */
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
  try {
    return sshHost(ssh, await preflight(ssh))
  } catch (error) {
    ssh.close()
    throw error
  }
}
