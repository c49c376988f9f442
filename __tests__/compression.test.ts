import { randomBytes } from 'node:crypto'
import { gunzipSync } from 'node:zlib'
import { execFileSync } from 'node:child_process'
import { pipeline } from 'node:stream/promises'
import { Writable } from 'node:stream'
import { AdaptiveGzip, chooseCodec, compressible, compressor } from '../src/transfer/compression.js'
import { LevelTuner } from '../src/transfer/level-tuner.js'
import { chunked } from './support/archive.js'

async function gzipAll(data: Buffer): Promise<Buffer> {
  const out: Buffer[] = []
  await pipeline(chunked(data), new AdaptiveGzip(LevelTuner.fixed('gzip', 1)), new Writable({ write: (chunk, _e, done) => (out.push(chunk), done()) }))
  return Buffer.concat(out)
}

describe('adaptive gzip', () => {
  const text = Buffer.from('GET /index.html 200 text/html version=1\n'.repeat(200_000))
  const random = randomBytes(12 << 20)

  it('round-trips mixed data exactly, through gzip -d as the host runs it', async () => {
    const data = Buffer.concat([text, random, text])
    const packed = await gzipAll(data)
    expect(gunzipSync(packed).equals(data)).toBe(true)
    const viaCli = execFileSync('gzip', ['-dc'], { input: packed, maxBuffer: 64 << 20 })
    expect(viaCli.equals(data)).toBe(true)
  })

  it('compresses text at its level and stores random bytes at level 0, one gzip member per run', async () => {
    const stream = new AdaptiveGzip(LevelTuner.fixed('gzip', 1))
    const out: Buffer[] = []
    await pipeline(chunked(Buffer.concat([text, random, text])), stream, new Writable({ write: (chunk, _e, done) => (out.push(chunk), done()) }))
    expect(stream.levels).toEqual([1, 0, 1])
  })

  it('keeps memory bounded when the reader is slow', async () => {
    const stream = new AdaptiveGzip(LevelTuner.fixed('gzip', 1))
    let written = 0
    for (let i = 0; i < 256; i++) {
      written += 65536
      if (!stream.write(random.subarray(0, 65536))) break
    }
    // Nobody reads: the writable side must push back long before 16 MiB are queued.
    expect(written).toBeLessThan(4 << 20)
    stream.destroy()
  })

  it('compresses text and stores random bytes almost as they are', async () => {
    const packedText = await gzipAll(text)
    expect(packedText.length).toBeLessThan(text.length / 20)
    const packedRandom = await gzipAll(random)
    expect(packedRandom.length).toBeLessThan(random.length * 1.01)
  })

  it('raises its level while a slow link keeps it waiting, and the stream still unpacks whole', async () => {
    // Text that deflate shrinks to about three quarters: many output chunks per window.
    const data = Buffer.from(randomBytes(24 << 20).toString('base64'))
    const stream = new AdaptiveGzip(new LevelTuner('gzip', 1, 6, 1))
    const out: Buffer[] = []
    // The link: 3 ms per 256 KiB chunk, about 80 MiB/s, slower than gzip 1 on base64 here.
    const slowLink = new Writable({ write: (chunk, _e, done) => (out.push(chunk), setTimeout(done, 3)) })
    await pipeline(chunked(data), stream, slowLink)
    expect(stream.levels[0]).toBe(1)
    expect(Math.max(...stream.levels)).toBeGreaterThan(1)
    expect(Math.max(...stream.levels)).toBeLessThanOrEqual(6)
    expect(gunzipSync(Buffer.concat(out)).equals(data)).toBe(true)
  })

  it('keeps the level the user set, whatever the link', async () => {
    const data = Buffer.from(randomBytes(12 << 20).toString('base64'))
    const stream = compressor({ codec: 'gzip', level: 2, adapt: false, reason: 'test' })!
    await pipeline(chunked(data), stream, new Writable({ write: (_chunk, _e, done) => setTimeout(done, 2) }))
    expect(stream.levels).toEqual([2])
  })

  it('tells compressible from incompressible samples', () => {
    expect(compressible(text.subarray(0, 65536))).toBe(true)
    expect(compressible(random.subarray(0, 65536))).toBe(false)
  })
})

describe('chooseCodec', () => {
  const remote = (zstd: boolean) => ({ zstd, onThisMachine: false })
  const local = { zstd: true, onThisMachine: true }

  it('auto picks zstd only where both ends have it, else gzip level 1', () => {
    expect(chooseCodec('auto', undefined, remote(true), true)).toMatchObject({ codec: 'zstd', level: 3, adapt: true })
    expect(chooseCodec('auto', undefined, remote(false), true)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('auto', undefined, remote(true), false)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('auto', undefined, remote(false), false)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('gzip', 6, remote(false), true)).toMatchObject({ codec: 'gzip', level: 6, adapt: false })
    expect(chooseCodec('none', undefined, remote(true), true)).toMatchObject({ codec: 'none' })
  })

  it('auto sends the archive as it is to a host on this machine, unless a compression-level asks for compression', () => {
    expect(chooseCodec('auto', undefined, local, true)).toEqual({
      codec: 'none', level: 0, adapt: false, reason: 'auto: none, the host is this machine (no network to save time on)'
    })
    expect(chooseCodec('auto', 5, local, true)).toMatchObject({ codec: 'zstd', level: 5 })
    expect(chooseCodec('auto', 4, { zstd: false, onThisMachine: true }, true)).toMatchObject({ codec: 'gzip', level: 4 })
    // An explicit codec is what it says, on this machine too.
    expect(chooseCodec('gzip', undefined, local, true)).toMatchObject({ codec: 'gzip', level: 1 })
    expect(chooseCodec('zstd', undefined, local, true)).toMatchObject({ codec: 'zstd', level: 3 })
  })

  it('explains why an explicit choice cannot work', () => {
    expect(() => chooseCodec('zstd', undefined, remote(true), false)).toThrow(/^compression: zstd needs Node.js 22.15/)
    expect(() => chooseCodec('zstd', undefined, remote(false), true)).toThrow(/^compression: zstd needs the zstd command on the host/)
  })
})
