import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { buildRenewImage, layerTar, loadArchive, parseLdd, renewImageTag, runtimeFiles, type Layer } from '../src/tls/renew-image.js'

const LDD = `	linux-vdso.so.1 (0x00007ffd)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f5c)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5b)
	/lib64/ld-linux-x86-64.so.2 (0x00007f5d)
`

const whole = (layer: Layer): Buffer => Buffer.concat(layer.chunks)

async function streamed(archive: Readable): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of archive) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

async function entries(tar: Buffer): Promise<{ name: string; mode: number; mtime: number; size: number }[]> {
  const list: { name: string; mode: number; mtime: number; size: number }[] = []
  const reader = extract()
  reader.on('entry', (header, stream, next) => {
    list.push({ name: header.name, mode: header.mode ?? 0, mtime: header.mtime?.getTime() ?? -1, size: header.size ?? 0 })
    stream.on('end', next)
    stream.resume()
  })
  await new Promise<void>((resolve, reject) => {
    reader.on('finish', resolve)
    reader.on('error', reject)
    Readable.from([tar]).pipe(reader)
  })
  return list
}

test('parseLdd lists the libraries and the loader, not the vdso', () => {
  expect(parseLdd(LDD)).toEqual(['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libdl.so.2', '/lib64/ld-linux-x86-64.so.2'])
  expect(() => parseLdd('\tlibfoo.so.1 => not found\n')).toThrow('ldd: a library of node is missing on the runner: libfoo.so.1 => not found')
})

test('a layer tar is deterministic: sorted, root-owned, mtime 0, with its parent folders', async () => {
  const files = [
    { path: '/usr/local/bin/node', data: Buffer.from('b'), mode: 0o755 },
    { path: '/app/renew.mjs', data: Buffer.from('a'), mode: 0o644 }
  ]
  const one = await layerTar(files, ['/tmp'])
  const two = await layerTar([...files].reverse(), ['/tmp'])
  expect(one.diffId).toBe(two.diffId)
  expect(one.size).toBe(whole(one).length)
  const list = await entries(whole(one))
  expect(list.map((e) => e.name)).toEqual(['app/', 'tmp/', 'usr/', 'usr/local/', 'usr/local/bin/', 'app/renew.mjs', 'usr/local/bin/node'])
  expect(list.find((e) => e.name === 'tmp/')?.mode).toBe(0o1777)
  expect(new Set(list.map((e) => e.mtime))).toEqual(new Set([0]))
})

test("the renewal image: node, flock and their libraries, then the script; tagged by what it is made of; docker load's layout", async () => {
  const files = await runtimeFiles()
  const image = await buildRenewImage(Buffer.from('console.log(1)\n'), files)
  const again = await buildRenewImage(Buffer.from('console.log(1)\n'), files)
  const other = await buildRenewImage(Buffer.from('console.log(2)\n'), files)
  expect([again.tag, again.imageId]).toEqual([image.tag, image.imageId])
  expect(image.tag).toBe(renewImageTag(Buffer.from('console.log(1)\n'), files))
  expect(image.tag).toMatch(/^bluegreen-renew:[0-9a-f]{12}$/)
  expect(other.layers[0].diffId).toBe(image.layers[0].diffId) // a new script leaves the runtime layer as it was
  expect(other.tag).not.toBe(image.tag)
  expect(image.info).toMatchObject({ id: image.imageId, diffIds: image.layers.map((l) => l.diffId), repoTags: [image.tag], platform: { os: 'linux' } })
  const config = JSON.parse(image.config.toString()) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] }; os: string }
  expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/renew.mjs'])
  expect(config.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId))
  const runtime = (await entries(whole(image.layers[0]))).map((e) => e.name)
  expect(runtime).toEqual(expect.arrayContaining(['usr/local/bin/node', 'usr/bin/flock']))
  expect(runtime.some((name) => /libc\.so/.test(name))).toBe(true)
  const archive = await entries(await streamed(loadArchive(image)))
  const blob = (digest: string) => `blobs/sha256/${digest.slice(7)}`
  expect(archive.map((e) => e.name)).toEqual([blob(image.imageId), ...image.layers.map((l) => blob(l.diffId)), 'manifest.json'])
  expect(archive[1].size).toBe(image.layers[0].size)
}, 60_000)
