import type { Runner } from './guard.js'
import { parseLegacyRoute, parseSlotRoute, type Route } from './nginx-config.js'
import { otherSlot, serviceDir, type Slot } from './paths.js'
import { SCRIPTS } from './scripts.js'

// The host keeps two records: the proxy config (which slot is live, written at the switch)
// and state.json (previous release and history, written right after). When a run died between
// the two, the proxy config wins and state.json is repaired on the next deploy.

export interface Release {
  slot: Slot
  container: string
  image: string
  imageId: string
  appPort: number
  deployedAt: string
  /** The release command ran for this image (a rollback or a re-run skips it). */
  released?: boolean
  /** The release's worker containers, by worker. */
  workers?: { name: string; containers: string[] }[]
  /** Containers in its slot, when more than one. */
  replicas?: number
  /** The env it ran with: names, and a hash of names and values (rollout/releases.ts). */
  envNames?: string[]
  envHash?: string
}

export interface ServiceState {
  version: 1
  service: string
  live?: Release
  /** What `rollback: true` returns to. */
  previous?: Release
  /** Newest first. */
  history: Release[]
}

export interface ServiceContainer {
  name: string
  state: string
  /** web, worker or release (bluegreen.role; containers from before roles are web). */
  role?: string
  slot?: string
  image?: string
  imageId?: string
}

export interface ServiceSnapshot {
  state: ServiceState
  /** The live slot's route: the one the service's symlink picks (or an old config's first line). */
  route?: Route
  /** What each slot was last given, as recorded at its switch. */
  slots?: Partial<Record<Slot, Route>>
  /** The service's pinned addresses on the proxy's network, by slot. */
  addresses?: Partial<Record<Slot, string[]>>
  /** The digest of the service's proxy config on the host; undefined when it has none. */
  confDigest?: string
  /** The live route, when only a config written before slot symlinks records it. */
  legacy?: Route
  containers: ServiceContainer[]
}

export interface Situation {
  /** The release the proxy routes to now. */
  live?: Release
  previous?: Release
  /** The slot the candidate goes to. */
  idleSlot: Slot
  /** state.json disagreed with the proxy config (a run died after its switch). */
  recovered: boolean
}

/** Enough for the largest keep-releases. */
const HISTORY_LENGTH = 50

export function emptyState(service: string): ServiceState {
  return { version: 1, service, history: [] }
}

export function resolveSituation(snapshot: ServiceSnapshot): Situation {
  const { state, route } = snapshot
  if (!route) {
    const last = state.live
    return {
      previous: last ?? state.previous,
      idleSlot: last ? otherSlot(last.slot) : 'blue',
      recovered: last !== undefined
    }
  }
  const recorded = state.live
  const matches = recorded?.slot === route.slot && recorded.imageId === route.imageId
  // The route says what serves; the record adds what the route cannot tell (env names, workers).
  const live: Release = {
    ...(matches ? recorded : {}),
    slot: route.slot,
    container: route.container,
    image: route.image,
    imageId: route.imageId,
    appPort: route.appPort,
    deployedAt: matches ? recorded.deployedAt : ''
  }
  const previous = matches ? state.previous : (recorded ?? state.previous)
  return { live, previous, idleSlot: otherSlot(route.slot), recovered: !matches }
}

/** The state after `release` went live. */
export function nextState(state: ServiceState, situation: Situation, release: Release): ServiceState {
  // Re-deploying the live image must not make rollback a no-op.
  const replaced = situation.live
  const previous = replaced && replaced.imageId !== release.imageId ? replaced : situation.previous
  return {
    version: 1,
    service: state.service,
    live: release,
    previous: previous?.imageId === release.imageId ? undefined : previous,
    history: [release, ...state.history].slice(0, HISTORY_LENGTH)
  }
}

/** Reads a survey's sections about the service (see scripts/survey.sh). */
export function snapshotFrom(sections: Map<string, string>, service: string): ServiceSnapshot {
  const slots = slotRoutes(sections.get('slots') ?? '')
  const live = sections.get('live')
  const marked = live === 'blue' || live === 'green' ? live : undefined
  const legacy = marked ? undefined : parseLegacyRoute(sections.get('route') ?? '')
  return {
    state: parseState(sections.get('state') ?? '', service),
    route: marked ? slots[marked] : legacy,
    slots,
    addresses: slotAddresses(sections.get('addresses') ?? ''),
    confDigest: /^[0-9a-f]{64}$/.exec(sections.get('conf') ?? '')?.[0],
    legacy,
    containers: (sections.get('containers') ?? '')
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [name, state, slot, image, imageId, role] = line.split('\t')
        const container: ServiceContainer = { name, state, slot: slot || undefined, image: image || undefined, imageId: imageId || undefined }
        return role ? { ...container, role } : container
      })
  }
}

/** `blue {json}` lines. */
function slotRoutes(text: string): Partial<Record<Slot, Route>> {
  const routes: Partial<Record<Slot, Route>> = {}
  for (const line of text.split('\n')) {
    const route = parseSlotRoute(line.slice(line.indexOf(' ') + 1))
    if (route && line.startsWith(`${route.slot} `)) routes[route.slot] = route
  }
  return routes
}

/** `slot index ip` lines, in index order. */
function slotAddresses(text: string): Partial<Record<Slot, string[]>> {
  const addresses: Partial<Record<Slot, string[]>> = {}
  const lines = text.split('\n').map((line) => line.split(' ')).filter(([slot, , ip]) => (slot === 'blue' || slot === 'green') && ip)
  for (const [slot, index, ip] of lines.sort((a, b) => Number(a[1]) - Number(b[1]))) {
    ;(addresses[slot as Slot] ??= [])[Number(index) - 1] = ip
  }
  return addresses
}

function parseState(text: string, service: string): ServiceState {
  if (!text) return emptyState(service)
  try {
    const parsed = JSON.parse(text) as ServiceState
    return { ...emptyState(service), ...parsed, history: parsed.history ?? [] }
  } catch {
    return emptyState(service) // a torn write; the proxy config still says what is live
  }
}

/** state.json's text, as written on the host. */
export function stateText(state: ServiceState): string {
  return JSON.stringify(state, null, 2) + '\n'
}

export async function writeState(run: Runner, state: ServiceState): Promise<void> {
  const result = await run(SCRIPTS.writeState, [serviceDir(state.service)], { stdin: stateText(state) })
  if (result.code !== 0) throw new Error(`Could not save the state of ${state.service}: ${result.stderr.trim()}`)
}
