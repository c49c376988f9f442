import { onThisMachine, runnerBootId } from '../src/transfer/link.js'

const BOOT = '5d3a1f0e-8c2b-4d7e-9f61-0a4b2c3d4e5f'

describe('onThisMachine', () => {
  it("is true only when the host's boot ID is the runner kernel's own", () => {
    expect(onThisMachine(BOOT, BOOT)).toBe(true)
    // 127.0.0.1 through an SSH tunnel reaches another kernel: it does not count.
    expect(onThisMachine('0b9c8d7e-6f5a-4b3c-2d1e-0f9a8b7c6d5e', BOOT)).toBe(false)
  })

  it('is false when either side has no boot ID (an old preflight, a runner that is not Linux)', () => {
    expect(onThisMachine(undefined, BOOT)).toBe(false)
    expect(onThisMachine(BOOT, undefined)).toBe(false)
    expect(onThisMachine(undefined, undefined)).toBe(false)
  })
})

describe('runnerBootId', () => {
  it('reads the kernel boot ID, trimmed', () => {
    expect(runnerBootId(() => `${BOOT}\n`)).toBe(BOOT)
  })

  it('is undefined where there is none to read', () => {
    expect(runnerBootId(() => { throw new Error('ENOENT') })).toBeUndefined()
    expect(runnerBootId(() => '\n')).toBeUndefined()
  })
})
