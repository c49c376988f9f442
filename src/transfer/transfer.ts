import { pipeline } from 'node:stream/promises'
import type { Readable } from 'node:stream'
import type { Host } from '../host/index.js'
import type { ImageInfo } from '../image-info.js'
import type { RunnerEngine, SaveStream } from '../runner-docker.js'
import { compressor, decompressCommand, type CodecChoice } from './compression.js'
import { sharedLayerCount } from './layers.js'
import { ByteCounter, startProgress } from './progress.js'
import { filterTar, readManifest } from './tar-filter.js'

export interface TransferResult {
  /** The host's view of the image it loaded (its ID is what containers run). */
  loaded: ImageInfo
  /** Bytes that went over the SSH channel. */
  sentBytes: number
  /** Bytes of the `docker save` archive read on the runner, skipped layers included. */
  archiveBytes: number
  skippedLayers: number
  totalLayers: number
  codec: CodecChoice
  durationMs: number
}

export interface TransferDeps {
  engine: RunnerEngine
  save: (ref: string) => SaveStream
  log: (line: string) => void
}

/** Docker 25 (API 1.44) saves layers as blobs/sha256/<digest>; from the classic store that digest is the diff ID. */
function namesLayersByDiffId(engine: RunnerEngine): boolean {
  const [major, minor] = engine.apiVersion.split('.').map(Number)
  return !engine.containerdStore && (major > 1 || (major === 1 && minor >= 44))
}

/**
 * Sends the image, leaving out the bottom layers the host already has. A load that does not
 * verify (the containerd store may refuse a partial archive, yet exit 0) is retried in full.
 */
export async function sendImage(
  host: Host,
  ref: string,
  image: ImageInfo,
  codec: CodecChoice,
  deps: TransferDeps
): Promise<TransferResult> {
  const started = Date.now()
  const layers = await host.layers()
  const skip = sharedLayerCount(image.diffIds, layers.chainIds)
  deps.log(`${skip} of ${image.diffIds.length} layers are already on the host; ${codec.reason} (level ${codec.level})`)
  if (skip > 0 && layers.containerdStore) {
    deps.log('The host uses the containerd image store: the partial load is verified and resent in full if it fails')
  }
  let attempt = await sendOnce(host, ref, image, codec, skip, deps)
  if (!attempt.loaded && skip > 0) {
    deps.log(`The load without the shared layers did not verify (${attempt.error}); sending every layer`)
    const retry = await sendOnce(host, ref, image, codec, 0, deps)
    retry.sentBytes += attempt.sentBytes
    attempt = retry
  }
  if (!attempt.loaded) throw new Error(attempt.error ?? 'the image did not arrive')
  return {
    loaded: attempt.loaded,
    sentBytes: attempt.sentBytes,
    archiveBytes: attempt.archiveBytes,
    skippedLayers: attempt.skipped,
    totalLayers: image.diffIds.length,
    codec,
    durationMs: Date.now() - started
  }
}

interface Attempt {
  sentBytes: number
  archiveBytes: number
  skipped: number
  loaded?: ImageInfo
  error?: string
}

async function sendOnce(
  host: Host,
  ref: string,
  image: ImageInfo,
  codec: CodecChoice,
  skip: number,
  deps: TransferDeps
): Promise<Attempt> {
  const drop = skip > 0 ? await layerEntriesToDrop(ref, image, skip, deps) : new Set<string>()
  const skipped = drop.size > 0 ? skip : 0
  const save = deps.save(ref)
  const read = new ByteCounter()
  const sent = new ByteCounter()
  const archive = drop.size > 0 ? filterTar(save.stdout.pipe(read), (name) => drop.has(name)) : save.stdout.pipe(read)
  save.stdout.on('error', (error) => read.destroy(error))
  const body: Readable = compressedBody(archive, codec, sent)
  const stopProgress = startProgress({ read, sent, expectedBytes: image.sizeBytes }, deps.log)
  try {
    const result = await host.load(decompressCommand(codec.codec, host.facts.tools), body)
    const saved = await save.done.then(() => undefined, (error: Error) => error.message)
    const counts = { sentBytes: sent.bytes, archiveBytes: read.bytes, skipped }
    if (result.code !== 0) {
      const output = `${result.stderr} ${result.stdout}`.trim().replace(/\s+/g, ' ')
      return { ...counts, error: `docker load on the host failed: ${output || `exit ${result.code}`}` }
    }
    if (saved) return { ...counts, error: saved }
    const verified = await host.verifyImage(image, ref)
    return verified.image ? { ...counts, loaded: verified.image } : { ...counts, error: verified.problem }
  } finally {
    stopProgress()
    save.stop()
  }
}

function compressedBody(archive: Readable, codec: CodecChoice, sent: ByteCounter): Readable {
  const stages = compressor(codec)
  pipeline([archive, ...stages, sent]).catch((error: Error) => sent.destroy(error))
  return sent
}

/** Archive paths of the bottom `skip` layers' files. */
async function layerEntriesToDrop(
  ref: string,
  image: ImageInfo,
  skip: number,
  deps: TransferDeps
): Promise<Set<string>> {
  const shared = image.diffIds.slice(0, skip)
  if (namesLayersByDiffId(deps.engine)) {
    return new Set(shared.map((diffId) => `blobs/sha256/${diffId.replace(/^sha256:/, '')}`))
  }
  // The classic format names layer folders by v1 IDs, which only manifest.json (written last)
  // maps to layers: read it in a first pass that sends nothing.
  const started = Date.now()
  const save = deps.save(ref)
  const manifest = JSON.parse(await readManifest(save.stdout)) as { Layers?: string[] }[]
  await save.done
  const layers = manifest[0]?.Layers ?? []
  deps.log(`Mapped the archive's layer files in a first pass (${Date.now() - started} ms)`)
  if (layers.length !== image.diffIds.length) return new Set()
  return new Set(layers.slice(0, skip))
}
