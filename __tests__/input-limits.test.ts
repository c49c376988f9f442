import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

jest.unstable_mockModule('@actions/core', () => coreMock())
const { INPUT_NAMES, parseInputs } = await import('../src/inputs.js')
const { MAX_LENGTH } = await import('../src/limits.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
const base = { host: 'example.com', key: KEY, image: 'ghcr.io/acme/web:1.4.2' }

/** What parseInputs throws, or '' when it accepts. */
const errorOf = (raw: Record<string, string>): string => {
  try {
    parseInputs(raw)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('input lengths', () => {
  it('bounds every input of action.yml', () => {
    expect(Object.keys(MAX_LENGTH).sort()).toEqual([...INPUT_NAMES].sort())
  })

  it.each([
    ['host', 253], ['port', 16], ['username', 32], ['key', 16384], ['passphrase', 1024], ['fingerprint', 1024],
    ['known-hosts', 65536], ['timeout', 16], ['image', 512], ['service', 64], ['app-port', 16], ['health-path', 2048],
    ['health-timeout', 16], ['proxy-port', 16], ['proxy-image', 512], ['network', 64], ['server-name', 8192],
    ['env', 262144], ['drain-timeout', 16], ['lock-timeout', 16], ['compression', 16], ['compression-level', 16],
    ['rollback', 16], ['volumes', 16384], ['command', 16384], ['entrypoint', 4096], ['user', 80], ['memory', 32],
    ['cpus', 16], ['labels', 65536], ['stop-timeout', 16], ['options', 16384], ['release-command', 16384],
    ['release-timeout', 16], ['release-on-rollback', 16], ['workers', 65536], ['worker-settle', 16],
    ['tls', 16], ['https-port', 16], ['hsts', 16], ['acme-email', 254], ['acme-directory', 2048], ['acme-ca-bundle', 65536],
    ['tls-certificate', 65536], ['tls-private-key', 16384], ['target', 16], ['swarm-update', 16]
  ])('refuses %s over %i characters, naming it and both lengths, without the value', (name, max) => {
    expect(MAX_LENGTH[name]).toBe(max)
    const over = 'x'.repeat(max - 6) + 'SECRET!'
    const message = errorOf({ ...base, [name]: over })
    expect(message).toBe(`${name}: ${max + 1} characters, more than the ${max} allowed (value not shown)`)
    // At the maximum the length is no reason to refuse (the value may still be wrong in form).
    expect(errorOf({ ...base, [name]: 'x'.repeat(max) })).not.toMatch(/characters, more than/)
  })

  it('checks lengths before anything else reads the inputs', () => {
    // A bad port would otherwise be refused first, quoting the value.
    const message = errorOf({ ...base, port: 'ssh', host: 'a'.repeat(100_000) })
    expect(message).toBe('host: 100000 characters, more than the 253 allowed (value not shown)')
  })

  it('takes a host of 253 characters in labels of up to 63', () => {
    const host = ['a'.repeat(63), 'b'.repeat(63), 'c'.repeat(63), 'd'.repeat(61)].join('.')
    expect(host).toHaveLength(253)
    expect(errorOf({ ...base, host })).toBe('')
  })

  it('takes no run of hex letters for an IPv6 address: that has a colon', () => {
    expect(errorOf({ ...base, host: 'a'.repeat(64) })).toMatch(/^host: expected a host name or IP address/)
    expect(errorOf({ ...base, host: 'abc' })).toBe('')
    expect(errorOf({ ...base, host: '2001:db8::1' })).toBe('')
    expect(errorOf({ ...base, host: '[2001:db8::1]' })).toBe('')
    expect(errorOf({ ...base, host: '203.0.113.7' })).toBe('')
  })
})
