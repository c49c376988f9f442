// The renewal container's image, made on the runner without a Docker engine: a `docker load`
// archive written with tar-stream, in the layout Docker 25+ saves (manifest.json naming
// blobs/sha256/<diff ID>), so the action's own transfer (transfer/transfer.ts) sends it and leaves
// out the layers the host has by their names. Two layers, so only a new action version's script
// travels while the runner's Node stays the same:
//   1. runtime: the runner's own node binary, flock(1) (the store's lock) and the shared libraries
//      ldd lists for them;
//   2. program: the bundled renewal script (dist/renew/index.js) as /app/renew.mjs.
// Node carries its own CA roots, so the image needs no ca-certificates. Tars are deterministic
// (sorted, mtime 0, root-owned): the same inputs give the same layers and image ID. The tag is a
// cheap key of those inputs (versions, sizes, the script), so a deploy learns whether the host has
// the image without reading and hashing ~100 MB of node first.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, realpath, stat } from 'node:fs/promises'
import { Readable } from 'node:stream'
import { promisify } from 'node:util'
import { pack } from 'tar-stream'
import { parseImageInspect, type ImageInfo } from '../image/info.js'

export const RENEW_REPOSITORY = 'bluegreen-renew'
export const RENEW_LABEL = 'bluegreen.role=renew'
/** Part of the tag's key: bump when the image's layout changes without its inputs changing. */
const FORMAT = 2

export interface ImageFile {
  path: string // inside the image, absolute
  data: Buffer
  mode: number
}

/** A file of the runtime layer, before it is read. */
export interface RuntimeFile {
  path: string
  source: string
  size: number
}

export interface Layer {
  /** The tar, as chunks (no copy of the file data). */
  chunks: Buffer[]
  size: number
  diffId: string // sha256:<hex> of the uncompressed tar
}

export interface RenewImage {
  tag: string
  imageId: string
  layers: Layer[]
  config: Buffer
  /** As the host's `docker image inspect` will describe it, for the transfer's checks. */
  info: ImageInfo
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' }

const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex')

/** The image's platform in Docker's words, for the host's check. */
export const imageArch = (): string => ARCH[process.arch] ?? process.arch

/** Library paths from ldd's output: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader. */
export function parseLdd(output: string, program = 'node'): string[] {
  const paths = new Set<string>()
  for (const line of output.split('\n')) {
    if (/not found/.test(line)) throw new Error(`ldd: a library of ${program} is missing on the runner: ${line.trim()}`)
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (match) paths.add(match[1])
  }
  return [...paths].sort()
}

async function librariesOf(program: string, name: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)('ldd', [program], { timeout: 10_000 })
  return parseLdd(stdout, name)
}

async function flockPath(): Promise<string> {
  for (const path of ['/usr/bin/flock', '/bin/flock']) {
    if (await stat(path).then((info) => info.isFile(), () => false)) return path
  }
  throw new Error("the runner has no flock (util-linux), which the renewal container's lock needs")
}

/** Where each runtime file comes from on the runner, and its size (nothing read yet). */
export async function runtimeFiles(nodePath = process.execPath): Promise<RuntimeFile[]> {
  const flock = await flockPath()
  const libs = new Set([...(await librariesOf(nodePath, 'node')), ...(await librariesOf(flock, 'flock'))])
  const wanted = [
    { path: '/usr/local/bin/node', from: nodePath },
    { path: '/usr/bin/flock', from: flock },
    ...[...libs].sort().map((lib) => ({ path: lib, from: lib }))
  ]
  return Promise.all(
    wanted.map(async ({ path, from }) => {
      const source = await realpath(from)
      return { path, source, size: (await stat(source)).size }
    })
  )
}

/** The tag: a key of everything the image is made from, cheap to compute at every deploy. */
export function renewImageTag(script: Buffer, files: RuntimeFile[]): string {
  const key = JSON.stringify([FORMAT, process.version, imageArch(), files.map((f) => [f.path, f.size]), sha256(script)])
  return `${RENEW_REPOSITORY}:${sha256(key).slice(0, 12)}`
}

/** A deterministic tar of these files, with their parent folders and the extra `dirs`. */
export async function layerTar(files: ImageFile[], dirs: string[] = []): Promise<Layer> {
  const archive = pack()
  const chunks: Buffer[] = []
  const hash = createHash('sha256')
  archive.on('data', (chunk: unknown) => {
    chunks.push(chunk as Buffer)
    hash.update(chunk as Buffer)
  })
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve)
    archive.on('error', reject)
  })
  const folders = new Set(dirs)
  for (const file of files) {
    const parts = file.path.split('/').slice(1, -1)
    parts.forEach((_, i) => folders.add(`/${parts.slice(0, i + 1).join('/')}`))
  }
  const header = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0) }
  for (const dir of [...folders].sort()) {
    archive.entry({ ...header, name: `${dir.slice(1)}/`, type: 'directory', mode: dir === '/tmp' ? 0o1777 : 0o755 })
  }
  for (const file of [...files].sort((a, b) => a.path.localeCompare(b.path))) {
    archive.entry({ ...header, name: file.path.slice(1), mode: file.mode, size: file.data.length }, file.data)
  }
  archive.finalize()
  await done
  return { chunks, size: chunks.reduce((sum, chunk) => sum + chunk.length, 0), diffId: `sha256:${hash.digest('hex')}` }
}

export async function buildRenewImage(script: Buffer, runtime?: RuntimeFile[]): Promise<RenewImage> {
  const files = runtime ?? (await runtimeFiles())
  const data = await Promise.all(files.map(async (file) => ({ path: file.path, data: await readFile(file.source), mode: 0o755 })))
  const layers = [await layerTar(data, ['/tmp']), await layerTar([{ path: '/app/renew.mjs', data: script, mode: 0o644 }])]
  const runConfig = {
    Entrypoint: ['/usr/local/bin/node', '/app/renew.mjs'],
    Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
    WorkingDir: '/',
    Labels: { 'bluegreen.role': 'renew', 'bluegreen.node': process.version }
  }
  const config = Buffer.from(
    JSON.stringify({
      architecture: imageArch(),
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: runConfig,
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: [{ created_by: `node ${process.version} and flock from the runner` }, { created_by: 'bluegreen renew.mjs' }]
    })
  )
  const imageId = `sha256:${sha256(config)}`
  const tag = renewImageTag(script, files)
  const inspect = { Id: imageId, RepoTags: [tag], RootFS: { Layers: layers.map((l) => l.diffId) }, Config: runConfig, Os: 'linux', Architecture: imageArch(), Size: layers.reduce((sum, l) => sum + l.size, 0) }
  return { tag, imageId, layers, config, info: parseImageInspect(JSON.stringify(inspect)) }
}

const blob = (digest: string): string => `blobs/sha256/${digest.replace(/^sha256:/, '')}`

/** The archive `docker load` reads, as a stream: the config and layers as blobs, then manifest.json. */
export function loadArchive(image: RenewImage): Readable {
  const archive = pack()
  const header = { uid: 0, gid: 0, uname: 'root', gname: 'root', mtime: new Date(0), mode: 0o644 }
  const write = async (): Promise<void> => {
    archive.entry({ ...header, name: blob(image.imageId) }, image.config)
    for (const layer of image.layers) {
      const entry = archive.entry({ ...header, name: blob(layer.diffId), size: layer.size })
      const ended = new Promise<void>((resolve, reject) => {
        entry.on('finish', () => resolve())
        entry.on('error', reject)
      })
      for (const chunk of layer.chunks) {
        if (!entry.write(chunk)) await new Promise<void>((resolve) => entry.once('drain', () => resolve()))
      }
      entry.end(undefined)
      await ended
    }
    const manifest = [{ Config: blob(image.imageId), RepoTags: [image.tag], Layers: image.layers.map((l) => blob(l.diffId)) }]
    archive.entry({ ...header, name: 'manifest.json' }, JSON.stringify(manifest))
    archive.finalize()
  }
  write().catch((error: Error) => archive.destroy(error))
  return archive as unknown as Readable
}
