import { createHash } from 'node:crypto'

// Docker identifies a layer in its store by chain ID, which covers the layer and every layer
// below it. So only a prefix of an image's layers can already be on the host.

export function chainIds(diffIds: string[]): string[] {
  const chains: string[] = []
  for (const diffId of diffIds) {
    const below = chains[chains.length - 1]
    chains.push(
      below === undefined ? diffId : 'sha256:' + createHash('sha256').update(`${below} ${diffId}`).digest('hex')
    )
  }
  return chains
}

/** How many of the image's bottom layers the host already has. */
export function sharedLayerCount(diffIds: string[], hostChainIds: Set<string>): number {
  const chains = chainIds(diffIds)
  let count = 0
  while (count < chains.length && hostChainIds.has(chains[count])) count++
  return count
}

/** Every chain ID present on a host, from the RootFS layer lists of all its images. */
export function collectChainIds(layerLists: string[][]): Set<string> {
  const all = new Set<string>()
  for (const list of layerLists) for (const chain of chainIds(list)) all.add(chain)
  return all
}

/**
 * Tells, from `docker history` content sizes (oldest first), whether a layer entry of a given
 * size could be one of the bottom `shared` layers. A layer's tar is its content plus headers: at
 * least its content size, and here taken as at most twice that plus 1 MiB; a compressed blob
 * may be any smaller size. History entries of size 0 may or may not be layers, so only
 * non-empty entries are counted; too few of them, and any size could be shared.
 */
export function sharedSizeTest(
  historySizes: number[] | undefined,
  shared: number
): ((entrySize: number, compressed: boolean) => boolean) | undefined {
  if (!historySizes || shared === 0) return undefined
  const bands: number[] = []
  let layers = 0
  for (const size of historySizes) {
    if (layers === shared) break
    bands.push(size)
    if (size > 0) layers++
  }
  if (layers < shared) return undefined
  return (entrySize, compressed) => bands.some((size) => (compressed || entrySize >= size) && entrySize <= 2 * size + 1048576)
}
