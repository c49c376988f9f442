import { createHash } from 'node:crypto'

// Docker before 25 saves each layer as <v1 id>/layer.tar, right after <v1 id>/json. Its v1 ID is
// the sha256 of that JSON as it was before the ID went in (moby's v1.CreateID): without "id",
// with the parent's v1 ID as a digest, and with the layer's chain ID as "layer_id", keys sorted.
// So the json entry tells which layer comes next, before any of its bytes do, and a shared layer
// can be left out without spooling and hashing it. Only an exact match counts; an entry that
// matches no layer of the image is hashed as before.

/** Which of the image's layers (by chain ID, bottom first) a legacy `<v1 id>/json` announces. */
export function legacyLayerIndex(json: string, chains: string[]): number | undefined {
  const fields = new Map(rawMembers(json) ?? [])
  const id = fields.get('id')
  if (!id) return undefined
  const wanted = JSON.parse(id) as unknown
  fields.delete('id')
  const parent = fields.get('parent')
  if (parent) fields.set('parent', JSON.stringify(`sha256:${JSON.parse(parent) as string}`))
  // moby sets a lower layer's "os" only after hashing its ID; the top layer carries the image's.
  const variants = fields.has('os') ? [withoutOs(fields), fields] : [fields]
  for (const variant of variants) {
    for (let index = 0; index < chains.length; index++) {
      variant.set('layer_id', JSON.stringify(chains[index]))
      if (sha256(canonical(variant)) === wanted) return index
    }
  }
  return undefined
}

function withoutOs(fields: Map<string, string>): Map<string, string> {
  const copy = new Map(fields)
  copy.delete('os')
  return copy
}

/** Go's json.Marshal of a map of raw values: keys sorted, values as they were. */
function canonical(fields: Map<string, string>): string {
  const keys = [...fields.keys()].sort()
  return `{${keys.map((key) => `${JSON.stringify(key)}:${fields.get(key)}`).join(',')}}`
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** The members of a compact JSON object as [key, raw value text]; undefined for anything else. */
export function rawMembers(text: string): [string, string][] | undefined {
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || text[0] !== '{') return undefined
  } catch {
    return undefined
  }
  const members: [string, string][] = []
  let at = 1
  while (text[at] === '"') {
    const keyEnd = stringEnd(text, at)
    if (text[keyEnd] !== ':') return undefined
    const valueEnd = valueEndAt(text, keyEnd + 1)
    members.push([JSON.parse(text.slice(at, keyEnd)) as string, text.slice(keyEnd + 1, valueEnd)])
    at = valueEnd + 1
    if (text[valueEnd] === '}') return at === text.length ? members : undefined
  }
  return text === '{}' ? members : undefined
}

/** Index just past the string that starts at `at`. */
function stringEnd(text: string, at: number): number {
  let i = at + 1
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
  return i + 1
}

/** Index of the `,` or `}` that ends the value starting at `at`. */
function valueEndAt(text: string, at: number): number {
  let depth = 0
  let i = at
  while (i < text.length) {
    const c = text[i]
    if (c === '"') {
      i = stringEnd(text, i)
      continue
    }
    if (c === '{' || c === '[') depth++
    else if (c === '}' || c === ']') {
      if (depth === 0) return i
      depth--
    } else if (c === ',' && depth === 0) return i
    i++
  }
  return i
}
