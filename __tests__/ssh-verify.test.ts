import { jest } from '@jest/globals'
import { randomBytes } from 'node:crypto'
import { coreMock } from './support/core-mock.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { verifyHostKey } = await import('../src/ssh/verify.js')
const { fingerprintOf } = await import('../src/ssh/hostkey.js')

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
  const connect = async (verifier: (key: Buffer) => boolean, algorithms?: string[]) => {
    attempts.push(algorithms)
    const offered = !algorithms || algorithms.includes('ssh-ed25519') ? keys['ssh-ed25519']
      : algorithms.includes('rsa-sha2-512') ? keys['ssh-rsa'] : undefined
    if (!offered) throw new Error('Handshake failed: no matching host key format')
    if (!verifier(offered)) throw new Error('Host denied (verification failed)')
    return 'connected'
  }
  return { keys, attempts, connect }
}

describe('verifyHostKey', () => {
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

  it('without a check, connects but warns with the line that pins the key', async () => {
    const { keys, connect } = server()
    await verifyHostKey({ kind: 'none' }, connect)
    expect(core.log.join('\n')).toContain(`Pin it by adding this input to the step:\n  fingerprint: ${fingerprintOf(keys['ssh-ed25519'])}`)
  })
})
