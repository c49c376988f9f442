import { parseHosts } from '../src/rollout/targets.js'

const PIN = `SHA256:${'A'.repeat(43)}`

describe('the hosts input', () => {
  it('reads host[:port] and a host\'s own fingerprints, one host per line', () => {
    expect(parseHosts(`web1.example.com\n\n# a comment\n10.0.0.2:2222 ${PIN}=\n[2001:db8::1]:2200`, 22)).toEqual([
      { host: 'web1.example.com', port: 22, fingerprints: [] },
      { host: '10.0.0.2', port: 2222, fingerprints: [PIN] },
      { host: '2001:db8::1', port: 2200, fingerprints: [] }
    ])
  })

  it.each([
    ['web1;touch x', /hosts: line 1: expected host\[:port\]/],
    ['web1:99999', /hosts: line 1: the port must be 1 to 65535, got 99999/],
    ['web1 SHA256:short', /hosts: line 1: expected the SHA256:\.\.\. form/],
    ['web1\nweb1:22', /hosts: web1:22 is listed twice/]
  ])('refuses %s, naming the line', (text, message) => {
    expect(() => parseHosts(text, 22)).toThrow(message)
  })

  it('bounds how many hosts one step takes', () => {
    const many = Array.from({ length: 51 }, (_, i) => `h${i}.example.com`).join('\n')
    expect(() => parseHosts(many, 22)).toThrow('hosts: 51 hosts, more than the 50 allowed in one step')
  })
})
