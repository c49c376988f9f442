import { parseImageInspect, type ImageInfo } from '../image/info.js'
import { LISTING_FORMAT, parseHostLayers, type HostLayers } from './images.js'
import { NoBashError } from '../ssh/remote-shell.js'
import type { Ssh } from '../ssh/connection.js'
import { COMMON_CONFIG, LISTEN_CONFIG } from './nginx-config.js'
import { STATE_ROOT, proxyDir, proxyName, serviceDir } from './paths.js'
import { SCRIPTS } from './scripts.js'
import { noBash, parsePreflight, type HostFacts } from './preflight.js'
import { parseProxyCheck, type ProxyCheck, type ProxySpec } from './proxy.js'
import { snapshotFrom, type ServiceSnapshot } from './state.js'

// One read-only round trip for everything a deploy decides on (scripts/survey.sh): (first time)
// whether the host can be used at all, the service's state, its slots and which one is live, its
// containers, the proxy and its network, whether the host has the image, and which layers it has.

export interface SurveyRequest {
  proxy: ProxySpec
  /** An image reference or ID to look up on the host. */
  image?: string
  /** Also run the preflight checks (Docker access, state root, tools). */
  preflight?: boolean
  /**
   * Also list every image's layers, for a transfer: read beside the survey's other docker calls,
   * it saves the transfer a round trip and a docker call of its own.
   */
  layers?: boolean
}

export interface Survey {
  facts?: HostFacts
  snapshot: ServiceSnapshot
  proxy: ProxyCheck
  image?: ImageInfo
  /**
   * The deploy lock's generation when the service state was read with the lock free, so that a
   * deploy whose lock comes next can trust this survey without reading again.
   */
  lockGeneration?: number
  /** The host's images and their layers, when asked for and listed (undefined if the listing failed). */
  layers?: HostLayers
}


export async function survey(ssh: Ssh, request: SurveyRequest): Promise<Survey> {
  const { proxy } = request
  const args = [
    serviceDir(proxy.service), proxyDir(proxy.network), proxy.service, proxyName(proxy.network),
    String(proxy.port), request.image ?? '', request.preflight ? 'yes' : 'no', STATE_ROOT, proxy.network,
    proxy.httpsPort ? String(proxy.httpsPort) : '', LISTEN_CONFIG, request.layers ? LISTING_FORMAT : ''
  ]
  const result = await ssh.run(SCRIPTS.survey, args, { stdin: COMMON_CONFIG }).catch((error: unknown) => {
    throw error instanceof NoBashError ? noBash(ssh.target) : error
  })
  if (result.code !== 0) throw new Error(`Could not read the host's state: ${result.stderr.trim()}`)
  return parseSurvey(result.stdout, proxy.service, request.preflight ? ssh.target : undefined)
}

/** `target` set: the output starts with the preflight checks, which may refuse the host. */
export function parseSurvey(stdout: string, service: string, target?: string): Survey {
  const checks = stdout.split(/^--lock$/m)[0]
  const facts = target === undefined ? undefined : parsePreflight(checks, target)
  const sections = splitSections(stdout)
  const image = sections.get('image')?.trim()
  const lock = /^(?:free (\d+)|none)$/.exec(sections.get('lock') ?? '')
  const layers = sections.get('layers')
  return {
    facts,
    snapshot: snapshotFrom(sections, service),
    proxy: parseProxyCheck(sections.get('proxy') ?? '', sections.get('network')),
    image: image ? parseImageInspect(image) : undefined,
    lockGeneration: lock ? Number(lock[1] ?? 0) : undefined,
    ...(layers === undefined ? {} : { layers: parseHostLayers(layers) })
  }
}

/** Splits `--name` header lines into named sections. */
export function splitSections(stdout: string): Map<string, string> {
  const sections = new Map<string, string>()
  let name = ''
  for (const line of stdout.split('\n')) {
    const header = /^--([a-z]+)$/.exec(line)
    if (header) {
      name = header[1]
      sections.set(name, '')
    } else if (name) {
      sections.set(name, `${sections.get(name)}${line}\n`)
    }
  }
  for (const [key, value] of sections) sections.set(key, value.trim())
  return sections
}
