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
  /** Seen in Docker's containerd image store, which names images by manifest digest. */
  containerdStore?: boolean
}

interface InspectJson {
  Id?: string
  Size?: number
  RepoTags?: string[] | null
  RootFS?: { Layers?: string[] }
  Config?: { ExposedPorts?: Record<string, unknown> | null; Healthcheck?: { Test?: string[] } | null }
  Os?: string
  Architecture?: string
  /** Only the containerd image store reports the image's OCI descriptor. */
  Descriptor?: unknown
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
    configKey: JSON.stringify([image.Config ?? {}, image.Os ?? '', image.Architecture ?? '']),
    containerdStore: image.Descriptor !== undefined
  }
}

/**
 * The runner's image and the host's are the same image. The classic store names an image by
 * its config digest, on both engines alike, so the IDs decide. Docker's containerd store
 * (Docker 29's default) names it by its manifest digest instead; there the layers and the
 * config must match.
 */
export function sameImage(runner: ImageInfo, host: ImageInfo): boolean {
  if (runner.id === host.id) return true
  if (!host.containerdStore) return false
  return runner.diffIds.length > 0 && runner.diffIds.join() === host.diffIds.join() && runner.configKey === host.configKey
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
