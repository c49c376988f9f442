import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { algorithmsFor, entriesFor, fingerprintOf, keyTypeOf, knownHostsName, parseKnownHosts } from '../src/ssh/hostkey.js'
import { tempDir } from './support/temp-dir.js'

const dir = tempDir('bg-hostkey-')
function hostKey(type: string): { line: string; blob: Buffer; fingerprint: string } {
  const file = join(dir, type)
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file])
  const line = readFileSync(`${file}.pub`, 'utf8').trim()
  const fingerprint = execFileSync('ssh-keygen', ['-lf', `${file}.pub`]).toString().split(' ')[1]
  return { line, blob: Buffer.from(line.split(' ')[1], 'base64'), fingerprint }
}
const ed25519 = hostKey('ed25519')
const rsa = hostKey('rsa')

describe('fingerprints', () => {
  it('match what ssh-keygen -lf prints', () => {
    expect(fingerprintOf(ed25519.blob)).toBe(ed25519.fingerprint)
    expect(fingerprintOf(rsa.blob)).toBe(rsa.fingerprint)
  })

  it('read the key type from the blob', () => {
    expect(keyTypeOf(ed25519.blob)).toBe('ssh-ed25519')
    expect(algorithmsFor(keyTypeOf(rsa.blob))).toEqual(['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'])
  })
})

describe('known_hosts', () => {
  const [type, key] = ed25519.line.split(' ')

  it('names non-22 ports the OpenSSH way', () => {
    expect(knownHostsName('10.0.0.1', 22)).toBe('10.0.0.1')
    expect(knownHostsName('10.0.0.1', 2222)).toBe('[10.0.0.1]:2222')
  })

  it('matches plain, port, wildcard and negated patterns', () => {
    const entries = parseKnownHosts(
      [`example.com,10.0.0.1 ${type} ${key}`, `[example.com]:2222 ${type} ${key}`, `*.example.org,!bad.example.org ${type} ${key}`, '# comment', ''].join('\n')
    )
    expect(entriesFor(entries, 'example.com', 22)).toHaveLength(1)
    expect(entriesFor(entries, '10.0.0.1', 22)).toHaveLength(1)
    expect(entriesFor(entries, 'example.com', 2222)).toHaveLength(1)
    expect(entriesFor(entries, 'example.com', 2200)).toHaveLength(0)
    expect(entriesFor(entries, 'app.example.org', 22)).toHaveLength(1)
    expect(entriesFor(entries, 'bad.example.org', 22)).toHaveLength(0)
  })

  it('matches hashed entries written by ssh-keygen -H', () => {
    const file = join(dir, 'known_hosts')
    writeFileSync(file, `[127.0.0.1]:2222 ${type} ${key}\n`)
    execFileSync('ssh-keygen', ['-q', '-H', '-f', file])
    const hashed = readFileSync(file, 'utf8')
    expect(hashed.startsWith('|1|')).toBe(true)
    const entries = parseKnownHosts(hashed)
    expect(entriesFor(entries, '127.0.0.1', 2222)[0].key.equals(ed25519.blob)).toBe(true)
    expect(entriesFor(entries, '127.0.0.1', 22)).toHaveLength(0)
  })

  it('keeps markers and refuses lines that are not known_hosts lines', () => {
    expect(parseKnownHosts(`@revoked host ${type} ${key}`)[0].marker).toBe('@revoked')
    expect(() => parseKnownHosts('just-a-host')).toThrow(/^known-hosts: line 1/)
    expect(() => parseKnownHosts(`host ${type} not*base64`)).toThrow(/^known-hosts: line 1/)
  })
})
