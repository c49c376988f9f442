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
}

interface InspectJson {
  Id?: string
  Size?: number
  RepoTags?: string[] | null
  RootFS?: { Layers?: string[] }
  Config?: { ExposedPorts?: Record<string, unknown> | null; Healthcheck?: { Test?: string[] } | null }
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
    repoTags: image.RepoTags ?? []
  }
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
