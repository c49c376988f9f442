import type { Platform } from './platform.js'

// What the action needs to know about an image, read from `docker image inspect` on either engine.

export interface ImageInfo {
  id: string
  /** RootFS diff IDs, bottom layer first. */
  diffIds: string[]
  /** e.g. ["8080/tcp"] */
  exposedPorts: string[]
  sizeBytes: number
  hasHealthcheck: boolean
  repoTags: string[]
  /** The image config (command, env, ports...) and platform, to compare images across stores. */
  configKey: string
  /** Read from Docker's containerd image store, which names images by manifest digest. */
  containerdStore?: boolean
  /** What the image is built for, when its inspect says. */
  platform?: Platform
  /**
   * The classic store's overlay2 folders of its layers' files (bottom first), where its inspect
   * names one per layer: what store.ts reads a layer from instead of `docker save`.
   */
  layerDirs?: string[]
}

interface InspectJson {
  Id?: string
  Size?: number
  RepoTags?: string[] | null
  RootFS?: { Layers?: string[] }
  Config?: ({ ExposedPorts?: Record<string, unknown> | null; Healthcheck?: { Test?: string[] } | null } & Record<string, unknown>) | null
  Os?: string
  Architecture?: string
  /** Docker 28+ on the containerd store: the image's OCI descriptor. */
  Descriptor?: unknown
  /** The containerd store names its snapshotter here (overlayfs), the classic store its driver (overlay2). */
  GraphDriver?: { Name?: string; Data?: { UpperDir?: string; LowerDir?: string } | null } | null
}

/** Parses one object of `docker image inspect` output (or the {{json .}} of one image). */
export function parseImageInspect(json: string): ImageInfo {
  const raw = JSON.parse(json) as InspectJson | InspectJson[]
  const image = Array.isArray(raw) ? raw[0] : raw
  if (!image?.Id) throw new Error('docker image inspect returned no image')
  const test = image.Config?.Healthcheck?.Test ?? []
  return {
    id: image.Id,
    diffIds: image.RootFS?.Layers ?? [],
    exposedPorts: Object.keys(image.Config?.ExposedPorts ?? {}),
    sizeBytes: image.Size ?? 0,
    hasHealthcheck: test.length > 0 && test[0] !== 'NONE',
    repoTags: image.RepoTags ?? [],
    configKey: configKey(image),
    containerdStore: image.Descriptor !== undefined || CONTAINERD_SNAPSHOTTERS.includes(image.GraphDriver?.Name ?? ''),
    ...(image.Os && image.Architecture ? { platform: { os: image.Os, arch: image.Architecture } } : {}),
    ...overlayDirs(image)
  }
}

/** overlay2's UpperDir is the top layer's folder, LowerDir the others', top down. */
function overlayDirs(image: InspectJson): { layerDirs?: string[] } {
  const { Name: name, Data: data } = image.GraphDriver ?? {}
  const layers = image.RootFS?.Layers ?? []
  if (name !== 'overlay2' || !data?.UpperDir || image.Descriptor !== undefined) return {}
  const dirs = [data.UpperDir, ...(data.LowerDir ? data.LowerDir.split(':') : [])].reverse()
  const plain = dirs.every((dir) => /^\/[^:]*\/overlay2\/[a-zA-Z0-9]+\/diff$/.test(dir))
  return plain && dirs.length === layers.length ? { layerDirs: dirs } : {}
}

// Snapshotter names that no classic storage driver uses. Docker 26 on the containerd store has
// no Descriptor in its image inspect, only these.
const CONTAINERD_SNAPSHOTTERS = ['overlayfs', 'native', 'stargz']

// The parts of an image's config that decide how its containers run. Engines of different API
// versions print the config differently (Docker 28 shows only the OCI fields, 20.10 every
// container field, empty ones included), so empty values are left out and keys sorted.
const RUN_CONFIG = [
  'Cmd', 'Entrypoint', 'Env', 'ExposedPorts', 'Healthcheck', 'Labels', 'OnBuild', 'Shell', 'StopSignal', 'User',
  'Volumes', 'WorkingDir'
]

function configKey(image: InspectJson): string {
  const config = image.Config ?? {}
  const kept = RUN_CONFIG.map((key) => [key, sorted(config[key])]).filter(([, value]) => !isEmpty(value))
  return JSON.stringify([Object.fromEntries(kept), image.Os ?? '', image.Architecture ?? ''])
}

function sorted(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sorted)
  if (value === null || typeof value !== 'object') return value
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Object.fromEntries(entries.map(([key, inner]) => [key, sorted(inner)]))
}

function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '') return true
  if (Array.isArray(value)) return value.length === 0
  return typeof value === 'object' && Object.keys(value).length === 0
}

/**
 * Two engines hold the same image. The classic store names an image by its config digest, so
 * between two classic engines the IDs decide: a rebuild of the same content is another image,
 * and its ID is what the outputs show. Docker's containerd image store (Docker 29's default)
 * names it by its index or manifest digest instead: when either side runs it, the layers and
 * the run config must match. The order of the two does not matter.
 */
export function sameImage(a: ImageInfo, b: ImageInfo): boolean {
  if (a.id === b.id) return true
  if (!a.containerdStore && !b.containerdStore) return false
  return a.diffIds.length > 0 && a.diffIds.join() === b.diffIds.join() && a.configKey === b.configKey
}

/** The single TCP port an image exposes, or an error naming app-port. */
export function exposedAppPort(image: ImageInfo, ref: string): number {
  const tcp = image.exposedPorts.filter((port) => port.endsWith('/tcp'))
  if (tcp.length === 1) return Number(tcp[0].split('/')[0])
  const found = tcp.length === 0 ? 'exposes no TCP port' : `exposes ${tcp.join(', ')}`
  throw new Error(`app-port: required, because ${ref} ${found}`)
}

export function shortId(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12)
}
