// Docker image references, checked against the grammar of distribution/reference so that
// nothing with shell syntax in it can reach the host.

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*'
const DOMAIN = '(?:(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)'
const TAG = '[\\w][\\w.-]{0,127}'
const DIGEST = 'sha256:[a-f0-9]{64}'
const REFERENCE = new RegExp(
  `^(?:(${DOMAIN})/)?(${COMPONENT}(?:/${COMPONENT})*)(?::(${TAG}))?(?:@(${DIGEST}))?$`
)

export interface ImageRef {
  /** The reference exactly as given. */
  text: string
  domain?: string
  /** Repository path without the registry, e.g. `acme/web`. */
  path: string
  tag?: string
  digest?: string
}

/** Parses a reference, or returns undefined when it is not one. */
export function parseImageRef(text: string): ImageRef | undefined {
  const match = REFERENCE.exec(text)
  if (!match) return undefined
  const [, , , tag, digest] = match
  let domain: string | undefined = match[1]
  let path = match[2]
  // "acme/web": the first part is a registry only when it looks like a host name.
  if (domain && !/[.:]/.test(domain) && domain !== 'localhost') {
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/.test(domain)) return undefined
    path = `${domain}/${path}`
    domain = undefined
  }
  return { text, domain, path, tag, digest }
}

/** The last path component made safe for container and DNS names: `ghcr.io/acme/my_app:1` → `my-app`. */
export function defaultServiceName(ref: ImageRef): string {
  const last = ref.path.split('/').pop() ?? ref.path
  return last.replace(/[._]+/g, '-').replace(/-+/g, '-').slice(0, 50).replace(/-$/, '')
}
