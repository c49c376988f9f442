// Where things live on the host. The state root holds one folder per service (lock, state)
// and one per proxy network (the nginx conf.d the proxy container mounts).

export const STATE_ROOT = '/var/lib/bluegreen'

export type Slot = 'blue' | 'green'

export function otherSlot(slot: Slot): Slot {
  return slot === 'blue' ? 'green' : 'blue'
}

export function serviceDir(service: string): string {
  return `${STATE_ROOT}/${service}`
}

export function proxyDir(network: string): string {
  return `${STATE_ROOT}/_proxy/${network}`
}

export function confDir(network: string): string {
  return `${proxyDir(network)}/conf.d`
}

/** The proxy's certificate store, in its conf.d (tls/store.ts). */
export function tlsDir(network: string): string {
  return `${confDir(network)}/bluegreen/tls`
}

/** The proxy's renewal container (src/renew.ts). */
export function renewName(network: string): string {
  return `${network}-renew`
}

export function proxyName(network: string): string {
  return `${network}-proxy`
}

export function containerName(service: string, slot: Slot): string {
  return `${service}-${slot}`
}
