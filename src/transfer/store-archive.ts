import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { pack, type Pack } from 'tar-stream'
import type { ImageInfo } from '../image/info.js'
import type { SaveStream } from '../image/runner.js'
import { parseImageRef } from '../image/ref.js'
import type { RunnerStore } from '../image/store.js'
import { assembleLayer, scanLayer } from '../image/tar-split.js'

// The archive `docker load` takes, written from the runner's store (image/store.ts) with only
// the layers the host lacks, in the layout Docker 25+ saves: blobs/sha256/<digest>, manifest.json
// (what the classic store loads by) and, for a host on the containerd store, index.json with an
// OCI manifest (what it loads by; it needs every layer's size, so each layer's tar-split is read
// for it). Layers come first, the JSON last, as Docker 20.10 orders its own archives: the host's
// docker load reads the whole archive before it looks at manifest.json.

const OCI_LAYER = 'application/vnd.oci.image.layer.v1.tar'

/** `name:tag` as docker save names the image in manifest.json, or undefined for a digest or ID. */
export function repoTag(ref: string): string | undefined {
  const parsed = parseImageRef(ref)
  if (!parsed || parsed.digest || /^[a-f0-9]{64}$/.test(ref)) return undefined
  return `${parsed.domain ? `${parsed.domain}/` : ''}${parsed.path}:${parsed.tag ?? 'latest'}`
}

/** The name containerd gives the image: docker.io/library/app:1 for app:1. */
function fullName(tag: string, domain?: string): string {
  if (domain) return tag
  return tag.includes('/') ? `docker.io/${tag}` : `docker.io/library/${tag}`
}

export interface StoreArchiveOptions {
  /** How many bottom layers the host has: those are left out. */
  skip: number
  /** Write index.json and the OCI manifest too (a host on the containerd store). */
  oci: boolean
}

/**
 * The archive as a stream, with the same shape as a docker save's. `done` rejects only when the
 * store could not be read; a stop() (the host's load ended, the run was cancelled) settles it.
 */
export function storeArchive(store: RunnerStore, ref: string, image: ImageInfo, options: StoreArchiveOptions): SaveStream {
  const output = pack()
  let stopFiles = (): void => undefined
  let stopped = false
  let settle = (): void => undefined
  const stoppedEarly = new Promise<void>((resolve) => (settle = resolve))
  const writing = writeArchive(output, store, ref, image, options, (stop) => (stopFiles = stop)).then(
    () => void output.finalize(),
    (error: Error) => {
      if (stopped) return
      output.destroy(error)
      throw error
    }
  )
  writing.catch(() => undefined) // observed through done
  const done = Promise.race([writing, stoppedEarly])
  done.catch(() => undefined) // observed by the caller
  return {
    stdout: output as unknown as Readable,
    done,
    stop: () => {
      stopped = true
      settle()
      stopFiles()
      output.destroy()
    }
  }
}

async function writeArchive(
  output: Pack, store: RunnerStore, ref: string, image: ImageInfo, options: StoreArchiveOptions, onFiles: (stop: () => void) => void
): Promise<void> {
  const tag = repoTag(ref)
  if (!tag) throw new Error(`${ref} is not a name:tag the archive can carry`)
  const sizes: number[] = []
  for (let index = 0; index < image.diffIds.length; index++) {
    if (index < options.skip && !options.oci) continue
    const { tarSplit, diffDir } = await store.layer(index)
    const scan = await scanLayer(tarSplit, diffDir)
    sizes[index] = scan.tarBytes
    if (index < options.skip) continue
    const files = store.files(scan.fileList)
    onFiles(files.stop)
    const entry = output.entry({ name: blobName(image.diffIds[index]), size: scan.tarBytes, mode: 0o644 })
    await pipeline(Readable.from(assembleLayer(tarSplit, files.stdout)), entry as unknown as NodeJS.WritableStream)
    await files.done
  }
  const configName = blobName(image.id)
  await add(output, configName, store.config)
  const layers = image.diffIds.map(blobName)
  await add(output, 'manifest.json', json([{ Config: configName, RepoTags: [tag], Layers: layers }]))
  if (options.oci) await addOci(output, image, store.config, sizes, tag)
}

async function addOci(output: Pack, image: ImageInfo, config: Buffer, sizes: number[], tag: string): Promise<void> {
  const manifest = json({
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: image.id, size: config.length },
    layers: image.diffIds.map((digest, index) => ({ mediaType: OCI_LAYER, digest, size: sizes[index] }))
  })
  const digest = `sha256:${createHash('sha256').update(manifest).digest('hex')}`
  await add(output, blobName(digest), manifest)
  const parsed = parseImageRef(tag)!
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{
      mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: manifest.length,
      annotations: { 'io.containerd.image.name': fullName(tag, parsed.domain), 'org.opencontainers.image.ref.name': parsed.tag }
    }]
  }
  await add(output, 'index.json', json(index))
  await add(output, 'oci-layout', json({ imageLayoutVersion: '1.0.0' }))
}

function blobName(digest: string): string {
  return `blobs/sha256/${digest.replace(/^sha256:/, '')}`
}

function json(value: unknown): Buffer {
  return Buffer.from(JSON.stringify(value))
}

function add(output: Pack, name: string, body: Buffer): Promise<void> {
  return new Promise((resolve, reject) => output.entry({ name, size: body.length, mode: 0o644 }, body, (error) => (error ? reject(error) : resolve())))
}
