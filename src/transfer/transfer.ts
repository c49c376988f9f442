import { pipeline } from 'node:stream/promises'
import type { Readable, Transform } from 'node:stream'
import type { HostLayers } from '../host/images.js'
import type { Host } from '../host/index.js'
import { sameImage, shortId, type ImageInfo } from '../image/info.js'
import type { SaveStream } from '../image/runner.js'
import type { RunnerStore } from '../image/store.js'
import { ADAPT, compressor, type CodecChoice } from './compression.js'
import { describeLevels } from './level-tuner.js'
import { sharedLayerCount, sharedSizeTest } from './layers.js'
import { keepYoungGenerationSmall } from './memory.js'
import { ByteCounter, startProgress } from './progress.js'
import { repoTag, storeArchive } from './store-archive.js'
import { dropLayers, type LayerFilter, type SharedLayers } from './tar-filter.js'

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
  /** The host had the image under another name: it was tagged, nothing was sent. */
  tagged: boolean
}

export interface TransferDeps {
  save: (ref: string) => SaveStream
  /** `docker history` content sizes, oldest first, to spool only layers that could be shared. */
  layerSizes?: (ref: string) => Promise<number[] | undefined>
  log: (line: string) => void
  /** Where layers are spooled while they are hashed (default: the OS temp dir). */
  spoolDir?: string
  /** Aborted: the export stops, and the load on the host fails on the cut stream. */
  signal?: AbortSignal
  /** The runner engine's store, readable: the layers the host lacks are read from it, not exported. */
  store?: RunnerStore
  /** The host's images and layers as its survey listed them under this lock (or just before it); listed now when absent. */
  listed?: HostLayers
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
  keepYoungGenerationSmall()
  // The host's layer list (unless the survey brought it) arrives while the store is opened, or docker save's first entries come.
  const listing = deps.listed ? Promise.resolve(deps.listed) : host.layers()
  const found = listing.then((layers) => ({
    onHost: layers.images.find((candidate) => sameImage(image, candidate)),
    containerdStore: layers.containerdStore
  }))
  const count = listing.then((layers) => {
    const count = sharedLayerCount(image.diffIds, layers.chainIds)
    const level = codec.codec === 'none' ? '' : ` (${levelPlan(codec)})`
    deps.log(`${count} of ${image.diffIds.length} layers are already on the host; ${codec.reason}${level}`)
    if (count > 0 && layers.containerdStore) {
      deps.log('The host uses the containerd image store: the partial load is verified and resent in full if it fails')
    }
    return count
  })
  count.catch(() => undefined) // a failed listing is reported through `found`, which is awaited first
  const send: Send = { host, ref, image, codec, deps }
  const first = deps.store && repoTag(ref) ? await sendFromStore(send, { count, found }, deps.store) : undefined
  // A cancelled run stops here: the store's stream was cut on purpose.
  if (first?.error && deps.signal?.aborted) throw new Error(first.error)
  if (first?.error) deps.log(`The load of the layers read from the runner's Docker store failed (${first.error}); sending docker save's export instead`)
  let attempt = first && !first.error ? first : await sendOnce(send, { count, found })
  if (first?.error) attempt.sentBytes += first.sentBytes
  if (attempt.tagged) {
    deps.log(`The host already has this image (${shortId(attempt.tagged)}) under another name; tagging it ${ref}, nothing to send`)
    await host.tagImage(attempt.tagged, ref)
    const verified = await host.verifyImage(image, ref)
    attempt = verified.image ? { ...attempt, loaded: verified.image } : { ...attempt, error: verified.problem }
  } else if (!attempt.loaded && attempt.skipped > 0) {
    deps.log(`The load without the shared layers did not verify (${attempt.error}); sending every layer`)
    const whole = { count: Promise.resolve(0), found: found.then((seen) => ({ ...seen, onHost: undefined })) }
    const retry = await sendOnce(send, whole)
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
    durationMs: Date.now() - started,
    tagged: attempt.tagged !== undefined
  }
}

interface Attempt {
  sentBytes: number
  archiveBytes: number
  skipped: number
  loaded?: ImageInfo
  error?: string
  /** The ID of the host's copy, which only needs the name. */
  tagged?: string
}

/** What each attempt sends, and where. */
interface Send {
  host: Host
  ref: string
  image: ImageInfo
  codec: CodecChoice
  deps: TransferDeps
}

interface HostHas {
  /** How many bottom layers the host has. */
  count: Promise<number>
  /** The host's copy of the image (under some other name), and which image store it runs. */
  found: Promise<{ onHost?: ImageInfo; containerdStore: boolean }>
}

/** For docker save's archive, whose layers are found by reading it: which layer.tar sizes could be one the host has. */
type Shared = Promise<{ count: number; maybe?: SharedLayers['maybe'] }>

async function sendOnce(send: Send, has: HostHas): Promise<Attempt> {
  const { ref, deps } = send
  // The host's answer comes during docker save's time to first byte, and nothing reads the
  // archive before it. (Docker 20.10 finishes the export of a save that is stopped: runner
  // CPU only, and only when the host turns out to have the image.) docker history runs meanwhile.
  const save = deps.save(ref)
  const sizes = deps.layerSizes?.(ref).catch(() => undefined) ?? Promise.resolve(undefined)
  const shared: Shared = Promise.all([has.count, sizes]).then(([count, history]) => ({ count, maybe: sharedSizeTest(history, count) }))
  shared.catch(() => undefined) // reported through `found`, awaited first
  return stoppedOnAbort(save, deps.signal, () => sendFrom(send, save, has, shared))
}

/** Runs `send` with `source` stopped if the run is cancelled meanwhile. */
async function stoppedOnAbort<T>(source: SaveStream, signal: AbortSignal | undefined, send: () => Promise<T>): Promise<T> {
  const stop = (): void => source.stop()
  signal?.addEventListener('abort', stop, { once: true })
  try {
    return await send()
  } finally {
    signal?.removeEventListener('abort', stop)
  }
}

/**
 * The layers the host lacks, read from the runner's store (store-archive.ts): nothing waits for an
 * export of the whole image. A load that failed or did not verify, or a store that could not be
 * read, is returned as the attempt's error, and the caller sends docker save's export instead.
 * What the host's load throws (an engine that stopped answering, a lost lock) goes up as it is:
 * another archive would not help.
 */
async function sendFromStore(send: Send, has: HostHas, store: RunnerStore): Promise<Attempt> {
  const { ref, image, deps } = send
  const { onHost, containerdStore } = await has.found
  if (onHost) return { sentBytes: 0, archiveBytes: 0, skipped: image.diffIds.length, tagged: onHost.id }
  const count = await has.count
  const layers = image.diffIds.length - count
  deps.log(`Reading ${layers} layer${layers === 1 ? '' : 's'} from the runner's Docker store (${store.how}) instead of exporting the image`)
  const archive = storeArchive(store, ref, image, { skip: count, oci: containerdStore })
  const sending = () => sendFrom(send, archive, has)
  const sent = await stoppedOnAbort(archive, deps.signal, sending).catch((error: Error) => error)
  // Settled by now: sendFrom stops the archive on its way out.
  const unread = await archive.done.then(() => undefined, (failure: Error) => failure)
  if (unread) return { sentBytes: sent instanceof Error ? 0 : sent.sentBytes, archiveBytes: 0, skipped: 0, error: `the store could not be read: ${unread.message}` }
  if (sent instanceof Error) throw sent
  return sent
}

/** With `shared`, the archive is a docker save's, with the host's layers still in it to leave out. */
async function sendFrom(send: Send, save: SaveStream, has: HostHas, shared?: Shared): Promise<Attempt> {
  const { host, ref, image, codec, deps } = send
  const { onHost, containerdStore } = await has.found.catch((error: unknown) => {
    save.stop()
    throw error
  })
  if (onHost) {
    save.stop()
    return { sentBytes: 0, archiveBytes: 0, skipped: image.diffIds.length, tagged: onHost.id }
  }
  const read = new ByteCounter()
  const sent = new ByteCounter()
  save.stdout.on('error', (error) => read.destroy(error))
  const layers = shared?.then(({ count, maybe }) => ({
    ids: new Set(image.diffIds.slice(0, count)),
    maybe,
    wholeLegacy: containerdStore,
    diffIds: image.diffIds
  }))
  const filter = layers ? dropLayers(save.stdout.pipe(read), layers, deps.spoolDir) : unfiltered(save.stdout.pipe(read), await has.count)
  const stage = compressor(codec)
  const body: Readable = compressedBody(filter.archive, stage, sent)
  const stopProgress = startProgress({ read, sent, expectedBytes: image.sizeBytes }, deps.log)
  try {
    const result = await host.load(codec.codec, body, containerdStore, { sent: image, ref })
    // A load that ended early (or a connection that broke) leaves the rest of the archive unread:
    // docker save would wait on its full pipe for ever.
    if (result.code !== 0) save.stop()
    const saved = await save.done.then(() => undefined, (error: Error) => error.message)
    const counts = { sentBytes: sent.bytes, archiveBytes: read.bytes, skipped: filter.dropped() }
    if (stage && codec.adapt) deps.log(`${codec.codec} levels used: ${describeLevels(stage.members)}`)
    if (filter.keptWhole()) {
      deps.log("The runner's docker save writes the legacy layout, which the host's containerd store loads only whole: sent every layer")
    }
    if (result.code !== 0) {
      const output = `${result.stderr} ${result.stdout}`.trim().replace(/\s+/g, ' ')
      return { ...counts, error: `docker load on the host failed: ${output || `exit ${result.code}`}` }
    }
    if (saved) return { ...counts, error: saved }
    const verified = result.verified ?? (await host.verifyImage(image, ref))
    return verified.image ? { ...counts, loaded: verified.image } : { ...counts, error: verified.problem }
  } finally {
    stopProgress()
    save.stop()
  }
}

/** An archive that already leaves out the host's `count` layers. */
function unfiltered(archive: Readable, count: number): LayerFilter {
  return { archive, dropped: () => count, keptWhole: () => false }
}

function compressedBody(archive: Readable, stage: Transform | undefined, sent: ByteCounter): Readable {
  pipeline(stage ? [archive, stage, sent] : [archive, sent]).catch((error: Error) => sent.destroy(error))
  return sent
}

/** "level 3" or "level 3 to start, then as the link allows, 1 to 9". */
export function levelPlan(codec: CodecChoice): string {
  if (!codec.adapt) return `level ${codec.level}`
  const { min, max } = ADAPT[codec.codec as 'zstd' | 'gzip']
  return `level ${codec.level} to start, then as the link allows, ${min} to ${max}`
}
