import { Readable } from 'node:stream'
import { extract } from 'tar-stream'
import { ensureRenewContainer, renewalPass } from '../src/tls/renew-container.js'
import { buildRenewImage, layerTar, loadArchive, parseLdd } from '../src/tls/renew-image.js'

const LDD = `	linux-vdso.so.1 (0x00007ffd)
	libdl.so.2 => /lib/x86_64-linux-gnu/libdl.so.2 (0x00007f5c)
	libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f5b)
	/lib64/ld-linux-x86-64.so.2 (0x00007f5d)
`

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
  const list = await entries(one.tar)
  expect(list.map((e) => e.name)).toEqual(['app/', 'tmp/', 'usr/', 'usr/local/', 'usr/local/bin/', 'app/renew.mjs', 'usr/local/bin/node'])
  expect(list.find((e) => e.name === 'tmp/')?.mode).toBe(0o1777)
  expect(new Set(list.map((e) => e.mtime))).toEqual(new Set([0]))
})

test("the renewal image: node and its libraries, then the script; tagged by its ID; docker load's layout", async () => {
  const image = await buildRenewImage(Buffer.from('console.log(1)\n'))
  const again = await buildRenewImage(Buffer.from('console.log(1)\n'))
  const other = await buildRenewImage(Buffer.from('console.log(2)\n'))
  expect(image.tag).toBe(again.tag)
  expect(image.tag).toBe(`bluegreen-renew:${image.imageId.slice(7, 19)}`)
  expect(other.layers[0].diffId).toBe(image.layers[0].diffId) // a new script leaves the runtime layer as it was
  expect(other.tag).not.toBe(image.tag)
  const config = JSON.parse(image.config.toString()) as { config: { Entrypoint: string[] }; rootfs: { diff_ids: string[] }; os: string }
  expect(config.config.Entrypoint).toEqual(['/usr/local/bin/node', '/app/renew.mjs'])
  expect(config.rootfs.diff_ids).toEqual(image.layers.map((l) => l.diffId))
  const runtime = (await entries(image.layers[0].tar)).map((e) => e.name)
  expect(runtime).toContain('usr/local/bin/node')
  expect(runtime.some((name) => /libc\.so/.test(name))).toBe(true)
  const archive = (await entries(await loadArchive(image))).map((e) => e.name).filter((name) => !name.endsWith('/'))
  expect(archive.sort()).toEqual(
    ['manifest.json', `${image.imageId.slice(7)}.json`, ...image.layers.map((l) => `${l.diffId.slice(7)}/layer.tar`)].sort()
  )
}, 60_000)

test('the renewal container is started only from a renewal image, for a numeric worker user', () => {
  const step = ensureRenewContainer({ image: 'bluegreen-renew:0123456789ab', owner: '101:101' })
  expect(step.args).toEqual(['bluegreen-renew:0123456789ab', '/var/lib/bluegreen/_tls', '101:101', 'bluegreen-renew'])
  expect(step.script).toContain('--restart unless-stopped --read-only --cap-drop ALL --cap-add CHOWN')
  expect(() => ensureRenewContainer({ image: 'nginx:alpine', owner: '101:101' })).toThrow('not a renewal image: nginx:alpine')
  expect(() => ensureRenewContainer({ image: 'bluegreen-renew:x', owner: 'nginx' })).toThrow(/uid:gid, not 'nginx'/)
  expect(renewalPass(30).args).toEqual(['bluegreen-renew', '30'])
})
