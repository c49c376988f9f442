import { jest } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { coreMock } from './support/core-mock.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { verifyHostKey } = await import('../src/ssh/verify.js')
const { fingerprintOf } = await import('../src/ssh/hostkey.js')
const { hostKeyCheck } = await import('../src/ssh/connect.js')
const { parseInputs } = await import('../src/inputs.js')

function blob(type: string): Buffer {
  const name = Buffer.from(type)
  const length = Buffer.alloc(4)
  length.writeUInt32BE(name.length)
  return Buffer.concat([length, name, randomBytes(32)])
}

/** A server with an ed25519 and an RSA host key that offers the first the client accepts. */
function server() {
  const keys = { 'ssh-ed25519': blob('ssh-ed25519'), 'ssh-rsa': blob('ssh-rsa') }
  const attempts: (string[] | undefined)[] = []
  const connect = async (verifier: (key: Buffer) => boolean | Promise<boolean>, algorithms?: string[]) => {
    attempts.push(algorithms)
    const offered = !algorithms || algorithms.includes('ssh-ed25519') ? keys['ssh-ed25519']
      : algorithms.includes('rsa-sha2-512') ? keys['ssh-rsa'] : undefined
    if (!offered) throw new Error('Handshake failed: no matching host key format')
    if (!(await verifier(offered))) throw new Error('Host denied (verification failed)')
    return 'connected'
  }
  return { keys, attempts, connect }
}

describe('verifyHostKey', () => {
  it("a further connection takes only the key the first accepted, and waits for the first's answer", async () => {
    const { keys, connect } = server()
    let accept!: (fingerprint: string) => void
    const first = new Promise<string>((resolve) => (accept = resolve))
    const second = verifyHostKey({ kind: 'same-key', fingerprint: first }, connect)
    let settled = false
    void second.finally(() => (settled = true))
    await new Promise((resolve) => setTimeout(resolve, 20))
    expect(settled).toBe(false) // its handshake holds until the first connection is in
    accept(fingerprintOf(keys['ssh-ed25519']))
    await expect(second).resolves.toBe('connected')
    await expect(verifyHostKey({ kind: 'same-key', fingerprint: fingerprintOf(keys['ssh-rsa']) }, connect)).rejects.toThrow(/verification failed/)
    // The first connection failed: the second refuses the key, so it never offers a login.
    await expect(verifyHostKey({ kind: 'same-key', fingerprint: Promise.reject(new Error('auth failed')) }, connect)).rejects.toThrow(/verification failed/)
    expect(core.warning).not.toHaveBeenCalled()
  })

  it('accepts the key the server offers first when its fingerprint is pinned', async () => {
    const { keys, attempts, connect } = server()
    await expect(verifyHostKey({ kind: 'fingerprint', fingerprints: [fingerprintOf(keys['ssh-ed25519'])] }, connect)).resolves.toBe('connected')
    expect(attempts).toEqual([undefined])
  })

  it("tries the server's other key families when the pinned fingerprint is of another key", async () => {
    const { keys, attempts, connect } = server()
    await expect(verifyHostKey({ kind: 'fingerprint', fingerprints: [fingerprintOf(keys['ssh-rsa'])] }, connect)).resolves.toBe('connected')
    expect(attempts).toHaveLength(3) // default (ed25519 offered), ecdsa (none), rsa
  })

  it('refuses, naming every key the server presented, when nothing matches', async () => {
    const { keys, connect } = server()
    const expected = `SHA256:${'A'.repeat(43)}`
    await expect(verifyHostKey({ kind: 'fingerprint', fingerprints: [expected] }, connect)).rejects.toThrow(
      `Host key verification failed: expected fingerprint ${expected}, the server presented ${fingerprintOf(keys['ssh-ed25519'])} (ssh-ed25519), ${fingerprintOf(keys['ssh-rsa'])} (ssh-rsa). No command was run.`
    )
  })

  it('restricts the handshake to the key types known_hosts lists', async () => {
    const { keys, attempts, connect } = server()
    const entries = [{ patterns: ['h'], keyType: 'ssh-rsa', key: keys['ssh-rsa'] }]
    await expect(verifyHostKey({ kind: 'known-hosts', name: 'h', entries }, connect)).resolves.toBe('connected')
    expect(attempts).toEqual([['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']])
  })

  it('refuses a known_hosts key that does not match, and one that is revoked', async () => {
    const { keys, connect } = server()
    const wrong = [{ patterns: ['h'], keyType: 'ssh-ed25519', key: blob('ssh-ed25519') }]
    await expect(verifyHostKey({ kind: 'known-hosts', name: 'h', entries: wrong }, connect)).rejects.toThrow(/^Host key verification failed for h: the server presented SHA256:/)
    const revoked = [
      { patterns: ['h'], keyType: 'ssh-ed25519', key: keys['ssh-ed25519'] },
      { marker: '@revoked' as const, patterns: ['h'], keyType: 'ssh-ed25519', key: keys['ssh-ed25519'] }
    ]
    await expect(verifyHostKey({ kind: 'known-hosts', name: 'h', entries: revoked }, connect)).rejects.toThrow(/which known-hosts does not trust/)
    await expect(verifyHostKey({ kind: 'known-hosts', name: 'h', entries: [] }, connect)).rejects.toThrow(/^known-hosts: no line lists a key for h/)
  })

  describe('known-hosts and fingerprint together', () => {
    const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'
    const line = (type: string, key: Buffer) => `[h.example]:2222 ${type} ${key.toString('base64')}`
    /** The check the inputs make, as connectHost() builds it. */
    const checkFor = (knownHosts: string, fingerprint: string) =>
      hostKeyCheck(parseInputs({ host: 'h.example', port: '2222', key: KEY, image: 'web:1', 'known-hosts': knownHosts, fingerprint }))

    it('refuses before connecting, naming both inputs, when known-hosts trusts the key but fingerprint is another', async () => {
      const { keys, attempts, connect } = server()
      const wrong = `SHA256:${'A'.repeat(43)}`
      const check = checkFor(line('ssh-ed25519', keys['ssh-ed25519']), wrong)
      await expect(verifyHostKey(check, connect)).rejects.toThrow(
        `known-hosts and fingerprint disagree: known-hosts trusts ${fingerprintOf(keys['ssh-ed25519'])} (ssh-ed25519) for [h.example]:2222, ` +
          `none of which is the fingerprint ${wrong}. With both inputs given, the host key must match both. No command was run.`
      )
      expect(attempts).toEqual([]) // never connected
    })

    it('connects with the trusted key the fingerprint pins, and only that one', async () => {
      const { keys, attempts, connect } = server()
      const both = [line('ssh-ed25519', keys['ssh-ed25519']), line('ssh-rsa', keys['ssh-rsa'])].join('\n')
      await expect(verifyHostKey(checkFor(both, fingerprintOf(keys['ssh-rsa'])), connect)).resolves.toBe('connected')
      expect(attempts).toEqual([['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']])
      expect(core.log.join('\n')).toContain(`Host key ${fingerprintOf(keys['ssh-rsa'])} (ssh-rsa) is listed in known-hosts for [h.example]:2222 and matches the fingerprint input`)
    })

    it('still reports a known-hosts without a line for the host as that', async () => {
      const { keys, connect } = server()
      const other = `[elsewhere]:22 ssh-ed25519 ${keys['ssh-ed25519'].toString('base64')}`
      await expect(verifyHostKey(checkFor(other, fingerprintOf(keys['ssh-ed25519'])), connect)).rejects.toThrow(
        /^known-hosts: no line lists a key for \[h.example\]:2222/
      )
    })
  })

  it('without a check, connects but warns with the line that pins the key', async () => {
    const { keys, connect } = server()
    await verifyHostKey({ kind: 'none' }, connect)
    expect(core.log.join('\n')).toContain(`Pin it by adding this input to the step:\n  fingerprint: ${fingerprintOf(keys['ssh-ed25519'])}`)
  })
})
