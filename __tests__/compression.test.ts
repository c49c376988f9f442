import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { adaptiveGzip, chooseCodec, compressible, decompressCommand } from '../src/transfer/compression.js'
import { chunked } from './support/archive.js'

async function gzipAll(data: Buffer): Promise<Buffer> {
  const out: Buffer[] = []
  await pipeline(chunked(data), ...adaptiveGzip(1), new Writable({ write: (chunk, _e, done) => (out.push(chunk), done()) }))
  return Buffer.concat(out)
}

describe('adaptive gzip', () => {
  const text = Buffer.from('GET /index.html 200 text/html version=1\n'.repeat(200_000))
  const random = randomBytes(12 << 20)

  it('round-trips mixed data exactly', async () => {
    const data = Buffer.concat([text, random, text])
    expect(gunzipSync(await gzipAll(data)).equals(data)).toBe(true)
  })

  it('compresses text and stores random bytes almost as they are', async () => {
    const packedText = await gzipAll(text)
    expect(packedText.length).toBeLessThan(text.length / 20)
    const packedRandom = await gzipAll(random)
    expect(packedRandom.length).toBeLessThan(random.length * 1.01)
  })

  it('tells compressible from incompressible samples', () => {
    expect(compressible(text.subarray(0, 65536))).toBe(true)
    expect(compressible(random.subarray(0, 65536))).toBe(false)
  })
})

describe('chooseCodec', () => {
  it('auto picks zstd only where both ends have it, else gzip level 1', () => {
    expect(chooseCodec('auto', undefined, ['zstd', 'gzip'], true)).toMatchObject({ codec: 'zstd', level: 3 })
    expect(chooseCodec('auto', undefined, ['gzip'], true)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('auto', undefined, ['zstd', 'gzip'], false)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('auto', undefined, [], false)).toMatchObject({ codec: 'none' })
    expect(chooseCodec('gzip', 6, ['gzip'], true)).toMatchObject({ codec: 'gzip', level: 6 })
    expect(chooseCodec('none', undefined, ['zstd'], true)).toMatchObject({ codec: 'none' })
  })

  it('explains why an explicit choice cannot work', () => {
    expect(() => chooseCodec('zstd', undefined, ['zstd'], false)).toThrow(/^compression: zstd needs Node.js 22.15/)
    expect(() => chooseCodec('zstd', undefined, ['gzip'], true)).toThrow(/^compression: zstd needs the zstd command on the host/)
    expect(() => chooseCodec('gzip', undefined, [], true)).toThrow(/^compression: gzip needs gzip/)
  })

  it('decompresses on the host with the fastest tool there', () => {
    expect(decompressCommand('gzip', ['gzip', 'pigz'])).toBe('pigz -dc')
    expect(decompressCommand('gzip', ['gzip'])).toBe('gzip -dc')
    expect(decompressCommand('zstd', ['zstd'])).toBe('zstd -dc')
    expect(decompressCommand('none', [])).toBe('cat')
  })
})
