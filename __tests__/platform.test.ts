import { platformVerdict } from '../src/image/platform.js'

describe('whether the host can run the image', () => {
  const amd64 = { os: 'linux', arch: 'amd64' }
  const arm64 = { os: 'linux', arch: 'arm64' }

  it('runs an image of its own platform, and 32-bit x86 on x86-64', () => {
    expect(platformVerdict('web:2', amd64, amd64, [])).toEqual({ ok: true })
    expect(platformVerdict('web:2', { os: 'linux', arch: '386' }, amd64, [])).toEqual({ ok: true })
  })

  it('refuses an x86 image on an ARM host without qemu, naming `image` and how to build for the host', () => {
    expect(platformVerdict('web:2', amd64, arm64, [])).toEqual({
      ok: false,
      problem:
        'image: web:2 is built for linux/amd64, but the host runs linux/arm64 and has no emulator for amd64 registered; ' +
        'build it for linux/arm64 (docker buildx build --platform linux/arm64)'
    })
    expect(platformVerdict('web:2', arm64, amd64, ['aarch64-disabled'])).toMatchObject({ ok: false })
  })

  it('refuses another OS outright, whatever emulators there are', () => {
    expect(platformVerdict('web:2', { os: 'windows', arch: 'amd64' }, amd64, ['x86_64'])).toMatchObject({
      ok: false,
      problem: expect.stringMatching(/^image: web:2 is built for windows\/amd64, but the host runs linux\/amd64; build it for linux\/amd64/)
    })
  })

  it('lets qemu run a foreign image, with a warning that it is slow', () => {
    expect(platformVerdict('web:2', amd64, arm64, ['x86_64'])).toEqual({
      ok: true,
      warning: 'web:2 is built for linux/amd64; the host (linux/arm64) runs it under qemu emulation, much slower than natively'
    })
  })

  it('warns about 32-bit ARM on an ARM64 host: not every ARM64 CPU runs it', () => {
    expect(platformVerdict('web:2', { os: 'linux', arch: 'arm' }, arm64, [])).toMatchObject({ ok: true, warning: expect.stringContaining('32-bit ARM') })
  })

  it('passes when either side does not say', () => {
    expect(platformVerdict('web:2', undefined, arm64, [])).toEqual({ ok: true })
    expect(platformVerdict('web:2', amd64, undefined, [])).toEqual({ ok: true })
    expect(platformVerdict('web:2', { os: 'unknown', arch: 'unknown' }, amd64, [])).toEqual({ ok: true })
  })
})
