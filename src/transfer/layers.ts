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
