// The renewal container's image, made on the runner without a Docker engine: a `docker load`
// archive (docker save's layout) written with tar-stream. Two layers, so the host's layer check
// sends the big one only when the runner's Node changes:
//   1. runtime: the runner's own node binary and the shared libraries ldd lists for it;
//   2. program: the bundled renewal script (dist/renew/index.js) as /app/renew.mjs.
// Node carries its own CA roots, so the image needs no ca-certificates. Tars are deterministic
// (sorted, mtime 0, root-owned), so the same inputs give the same image ID, and the tag is that ID.
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { readFile, realpath } from 'node:fs/promises'
import { promisify } from 'node:util'
import { pack } from 'tar-stream'

export const RENEW_REPOSITORY = 'bluegreen-renew'

export interface ImageFile {
  path: string // inside the image, absolute
  data: Buffer
  mode: number
}

export interface Layer {
  tar: Buffer
  diffId: string // sha256:<hex> of the uncompressed tar
}

export interface RenewImage {
  /** bluegreen-renew:<first 12 hex of the image ID> */
  tag: string
  imageId: string
  layers: Layer[]
  config: Buffer
}

const ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' }

const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex')

/** Library paths from ldd's output: "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" and the loader. */
export function parseLdd(output: string): string[] {
  const paths = new Set<string>()
  for (const line of output.split('\n')) {
    if (/not found/.test(line)) throw new Error(`ldd: a library of node is missing on the runner: ${line.trim()}`)
    const match = /=>\s*(\/\S+)/.exec(line) ?? /^\s*(\/\S+)\s+\(/.exec(line)
    if (match) paths.add(match[1])
  }
  return [...paths].sort()
}

/** The runner's node and its libraries, as files of the runtime layer. */
export async function runtimeFiles(nodePath = process.execPath): Promise<ImageFile[]> {
  const { stdout } = await promisify(execFile)('ldd', [nodePath], { timeout: 10_000 })
  const libs = await Promise.all(
    parseLdd(stdout).map(async (path) => ({ path, data: await readFile(await realpath(path)), mode: 0o755 }))
  )
  const node = { path: '/usr/local/bin/node', data: await readFile(await realpath(nodePath)), mode: 0o755 }
  return [node, ...libs]
}

/** A deterministic tar of these files, with their parent folders and an empty /tmp. */
export async function layerTar(files: ImageFile[], dirs: string[] = []): Promise<Layer> {
  const archive = pack()
  const chunks: Buffer[] = []
  archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer))
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
  const tar = Buffer.concat(chunks)
  return { tar, diffId: `sha256:${sha256(tar)}` }
}

export async function buildRenewImage(script: Buffer, nodePath = process.execPath): Promise<RenewImage> {
  const runtime = await layerTar(await runtimeFiles(nodePath), ['/tmp'])
  const program = await layerTar([{ path: '/app/renew.mjs', data: script, mode: 0o644 }])
  const layers = [runtime, program]
  const config = Buffer.from(
    JSON.stringify({
      architecture: ARCH[process.arch] ?? process.arch,
      os: 'linux',
      created: '1970-01-01T00:00:00Z',
      config: {
        Entrypoint: ['/usr/local/bin/node', '/app/renew.mjs'],
        Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'NODE_ENV=production'],
        WorkingDir: '/',
        Labels: { 'bluegreen.role': 'renew', 'bluegreen.node': process.version }
      },
      rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.diffId) },
      history: [{ created_by: `node ${process.version} from the runner` }, { created_by: 'bluegreen renew.mjs' }]
    })
  )
  const imageId = `sha256:${sha256(config)}`
  return { tag: `${RENEW_REPOSITORY}:${imageId.slice(7, 19)}`, imageId, layers, config }
}

/** The archive `docker load` reads: manifest.json, the config, one folder per layer. */
export async function loadArchive(image: RenewImage): Promise<Buffer> {
  const configName = `${image.imageId.slice(7)}.json`
  const layerNames = image.layers.map((layer) => `${layer.diffId.slice(7)}/layer.tar`)
  const manifest = [{ Config: configName, RepoTags: [image.tag], Layers: layerNames }]
  const files: ImageFile[] = [
    { path: '/manifest.json', data: Buffer.from(JSON.stringify(manifest)), mode: 0o644 },
    { path: `/${configName}`, data: image.config, mode: 0o644 },
    ...image.layers.map((layer, i) => ({ path: `/${layerNames[i]}`, data: layer.tar, mode: 0o644 }))
  ]
  return (await layerTar(files)).tar
}
