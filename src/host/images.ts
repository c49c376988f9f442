import type { Readable } from 'node:stream'
import { parseImageInspect, sameImage, type ImageInfo } from '../image/info.js'
import { bashCommand, type RunResult, type Ssh } from '../ssh/connection.js'
import { collectChainIds } from '../transfer/layers.js'
import type { Codec } from '../transfer/compression.js'
import type { HostFacts } from './preflight.js'
import { LOST_LOCK_EXIT, lostLock, type LockGuard, type Runner } from './guard.js'
import { STATE_ROOT } from './paths.js'
import { SCRIPTS } from './scripts.js'

/** The host's view of image `ref`, undefined when it has none; throws when its engine does not answer. */
export async function inspectHostImage(ssh: Ssh, ref: string): Promise<ImageInfo | undefined> {
  const result = await ssh.run(SCRIPTS.inspectImage, [ref])
  if (result.code !== 0) throw new Error(`Could not inspect the image ${ref} on the host: ${result.stderr.trim() || `exit ${result.code}`}`)
  const json = result.stdout.trim()
  return json ? parseImageInspect(json) : undefined
}

export interface HostLayers {
  /** Every layer chain the host's images are built from. */
  chainIds: Set<string>
  /** Every image on the host, tagged or not: its ID, layers and run config. */
  images: ImageInfo[]
  /** Docker's containerd image store (the default of new Docker 29 installs). */
  containerdStore: boolean
}

// What the listing reads of each image: enough for parseImageInspect to tell layers, run config
// and store, far less than the whole inspect output of a host with thousands of images.
export const LISTING_FORMAT =
  '{"Id":{{json .Id}},"RootFS":{{json .RootFS}},"Config":{{json .Config}},"Os":{{json .Os}},' +
  '"Architecture":{{json .Architecture}},"GraphDriver":{"Name":{{json .GraphDriver.Name}}}}'

/** One `docker image inspect` over every image on the host: which layer chains it holds, and which store. */
export async function hostLayers(ssh: Ssh): Promise<HostLayers> {
  const result = await ssh.run(SCRIPTS.hostLayers, [LISTING_FORMAT])
  if (result.code !== 0) throw new Error(`Could not list the host's image layers: ${result.stderr.trim() || `exit ${result.code}`}`)
  return parseHostLayers(result.stdout)
}

/** The listing's output (scripts/lib-host-layers.sh), from host-layers.sh or the survey's section. */
export function parseHostLayers(stdout: string): HostLayers {
  const lines = stdout.split('\n')
  const containerdStore = lines.includes('store containerd')
  const images = lines
    .filter((line) => line.startsWith('{'))
    .map((line) => ({ ...parseImageInspect(line), ...(containerdStore ? { containerdStore } : {}) }))
  return { chainIds: collectChainIds(images.map((image) => image.diffIds)), images, containerdStore }
}

/** Gives the host's image `id` the name `ref` too. */
export async function tagImage(run: Runner, id: string, ref: string): Promise<void> {
  const result = await run(SCRIPTS.tagImage, [id, ref])
  if (result.code !== 0) throw new Error(`Could not tag ${id} as ${ref} on the host: ${result.stderr.trim()}`)
}

/**
 * Docker 25 unpacks gzip and zstd itself on either image store. Before, the containerd store
 * read no compressed archive (moby#46605) and Docker 20.10 no zstd; gzip on the classic store
 * has always worked (the sandbox's 20.10 proves it, and the e2e suite runs it).
 */
const unpacksAll = (dockerVersion: string): boolean => Number.parseInt(dockerVersion, 10) >= 25

/**
 * The host's side of the stream. Where docker load unpacks the codec in the daemon, nothing goes
 * in front: a `gzip -dc |` cost 0.25-0.3 s more per 82 MiB on a 2-CPU host (one more process and
 * two more copies of every byte). Elsewhere a decompressor does it first.
 */
export function loadCommand(codec: Codec, dockerVersion: string, containerdStore: boolean): string {
  if (codec === 'none' || unpacksAll(dockerVersion)) return 'docker load'
  if (codec === 'zstd') return 'zstd -dc | docker load'
  return containerdStore ? 'gzip -dc | docker load' : 'docker load'
}

/** What scripts/load.sh puts in front of docker load for loadCommand()'s pipeline. */
function unpacker(command: string): string {
  return command.startsWith('zstd') ? 'zstd' : command.startsWith('gzip') ? 'gzip' : 'none'
}

/** Whether a zstd stream can be loaded: the host's Docker reads it, or it has the zstd command. */
export function hostTakesZstd(facts: HostFacts): boolean {
  return unpacksAll(facts.dockerVersion) || facts.tools.includes('zstd')
}

/**
 * Seconds docker load may read nothing while the host's Docker engine does not answer either
 * before the host stops it (scripts/load.sh). Not a bound on the whole load: a big image on a
 * slow link takes as long as it takes, and a runner that goes silent is the lock's business.
 */
export const LOAD_IDLE_SECONDS = 60
/** load.sh's exit when it stopped a docker load that made no progress. */
const LOAD_IDLE_EXIT = 124

/** A load's result; `verified`, when the load step inspected what it loaded (scripts/load.sh). */
export type LoadResult = RunResult & { verified?: Verified }

/**
 * Feeds an archive stream to loadCommand()'s pipeline on the host, while the deploy lock is this
 * run's (`guard`): the lock session ends the load if the runner is lost. With `verify`, the same
 * step inspects the loaded image: the check of what arrived costs no round trip of its own.
 */
export async function loadImage(
  ssh: Ssh, guard: LockGuard | undefined, service: string, command: string, archive: Readable, verify?: { sent: ImageInfo; ref: string }
): Promise<LoadResult> {
  const args = [guard?.dir ?? '', String(guard?.generation ?? ''), unpacker(command), String(LOAD_IDLE_SECONDS), ...(verify ? inspectNames(verify.sent, verify.ref) : [])]
  const result = await ssh.stream(bashCommand(SCRIPTS.load, args), archive)
  if (result.code === LOST_LOCK_EXIT && result.stderr.includes('LOST-LOCK')) throw lostLock(service)
  // Thrown, not returned: a load the engine left hanging must not be retried in full.
  if (result.code === LOAD_IDLE_EXIT && result.stderr.includes('LOAD-IDLE')) {
    throw new Error(
      `The host's Docker engine stopped answering during docker load: it read nothing for ${LOAD_IDLE_SECONDS} s, so the load was stopped`
    )
  }
  const [stdout, inspected] = result.stdout.split(/^--inspect$/m)
  if (!verify || result.code !== 0 || inspected === undefined) return result
  const json = inspected.trim()
  return { ...result, stdout: stdout!, verified: judged(json ? parseImageInspect(json) : undefined, verify.sent, verify.ref) }
}

export type Verified = { image: ImageInfo; problem?: undefined } | { image?: undefined; problem: string }

/**
 * The host must now hold exactly the image that was sent: same layers and config (same ID on
 * the classic store). Returns the host's own view of it, whose ID is what containers run.
 */
export async function verifyHostImage(ssh: Ssh, sent: ImageInfo, ref: string): Promise<Verified> {
  let found: ImageInfo | undefined
  for (const name of inspectNames(sent, ref)) if ((found = await inspectHostImage(ssh, name))) break
  return judged(found, sent, ref)
}

/** The names the loaded image is looked up by: its reference (unless a digest), then the runner's ID. */
function inspectNames(sent: ImageInfo, ref: string): string[] {
  return ref.includes('@') ? [sent.id] : [ref, sent.id]
}

function judged(found: ImageInfo | undefined, sent: ImageInfo, ref: string): Verified {
  if (!found) return { problem: `the host has no image ${ref} (${sent.id}) after docker load` }
  if (!sameImage(found, sent)) return { problem: `the host's image ${ref} (${found.id}) has other layers or config than the runner's` }
  return { image: found }
}

export async function pruneImages(run: Runner, service: string, refs: string[]): Promise<string[]> {
  if (refs.length === 0) return []
  const result = await run(SCRIPTS.pruneImages, [STATE_ROOT, service, ...refs])
  return result.stdout.split('\n').filter(Boolean)
}
