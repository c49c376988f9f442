import type { NetworkInterfaceInfo } from 'node:os'
import { isThisMachine } from '../src/link.js'

const nic = (address: string, family: 'IPv4' | 'IPv6'): NetworkInterfaceInfo =>
  ({ address, family, netmask: '', mac: '00:00:00:00:00:00', internal: false, cidr: null }) as NetworkInterfaceInfo
const interfaces = { lo: [nic('127.0.0.1', 'IPv4'), nic('::1', 'IPv6')], eth0: [nic('10.1.2.3', 'IPv4'), nic('fe80::1', 'IPv6')] }

describe('isThisMachine', () => {
  it('knows loopback addresses, IPv4-mapped ones too', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1']) {
      expect(isThisMachine(address, {})).toBe(true)
    }
  })

  it("knows the machine's own interface addresses, whatever their zone", () => {
    expect(isThisMachine('10.1.2.3', interfaces)).toBe(true)
    expect(isThisMachine('::ffff:10.1.2.3', interfaces)).toBe(true)
    expect(isThisMachine('fe80::1%eth0', interfaces)).toBe(true)
  })

  it('takes any other address, or none, for a host across a network', () => {
    expect(isThisMachine('10.1.2.4', interfaces)).toBe(false)
    expect(isThisMachine('203.0.113.7', interfaces)).toBe(false)
    expect(isThisMachine('2001:db8::1', interfaces)).toBe(false)
    expect(isThisMachine(undefined, interfaces)).toBe(false)
    expect(isThisMachine('', interfaces)).toBe(false)
  })
})
