import { readFileSync } from 'node:fs'

// The remote shell code lives in real .sh files in scripts/ (shellcheck runs on them in CI, as
// sent). ncc copies each file named below into dist/ and rewrites its URL, so every path is a
// literal. A library file only defines functions; a script is sent with the ones it calls in
// front. A guarded script changes the host: its first two arguments are the deploy lock's folder
// and generation, and it exits 7 unless that lock is still this run's (lib-lock-guard.sh).

const read = (url: URL): string => readFileSync(url, 'utf8')

const lib = {
  docker: read(new URL('./scripts/lib-docker.sh', import.meta.url)),
  lockGuard: read(new URL('./scripts/lib-lock-guard.sh', import.meta.url)),
  network: read(new URL('./scripts/lib-network.sh', import.meta.url)),
  markers: read(new URL('./scripts/lib-markers.sh', import.meta.url)),
  runtime: read(new URL('./scripts/lib-runtime.sh', import.meta.url)),
  steps: read(new URL('./scripts/lib-steps.sh', import.meta.url)),
  preflight: read(new URL('./scripts/lib-preflight.sh', import.meta.url)),
  probeShell: read(new URL('./scripts/lib-probe-shell.sh', import.meta.url)),
  healthLoop: read(new URL('./scripts/lib-health-loop.sh', import.meta.url)),
  startCandidate: read(new URL('./scripts/lib-start-candidate.sh', import.meta.url)),
  proxyLock: read(new URL('./scripts/lib-proxy-lock.sh', import.meta.url)),
  proxyReload: read(new URL('./scripts/lib-proxy-reload.sh', import.meta.url)),
  proxyPair: read(new URL('./scripts/lib-proxy-pair.sh', import.meta.url)),
  switchLive: read(new URL('./scripts/lib-switch.sh', import.meta.url)),
  swarm: read(new URL('./scripts/lib-swarm.sh', import.meta.url)),
  httpProbe: read(new URL('./scripts/lib-http-probe.sh', import.meta.url)),
  hostLayers: read(new URL('./scripts/lib-host-layers.sh', import.meta.url)),
  state: read(new URL('./scripts/lib-state.sh', import.meta.url))
}

function withLibs(main: string, ...libs: string[]): string {
  return [...libs, main].join('\n')
}

/** The lock's folder and generation come first; the script's own arguments follow. */
function guarded(main: string, ...libs: string[]): string {
  const check = 'bg_lockdir=$1 bg_generation=$2\nshift 2\nhold_lock\n'
  return withLibs(check + main, lib.lockGuard, ...libs)
}

/** Scripts for the host's bash (Ssh.run), with the libraries they call. */
export const SCRIPTS = {
  survey: withLibs(read(new URL('./scripts/survey.sh', import.meta.url)), lib.docker, lib.preflight, lib.network, lib.markers, lib.hostLayers),
  lock: withLibs(read(new URL('./scripts/lock.sh', import.meta.url)), lib.steps),
  hostLayers: withLibs(read(new URL('./scripts/host-layers.sh', import.meta.url)), lib.docker, lib.hostLayers),
  inspectImage: withLibs(read(new URL('./scripts/inspect-image.sh', import.meta.url)), lib.docker),
  proxyServes: withLibs(read(new URL('./scripts/proxy-serves.sh', import.meta.url)), lib.docker, lib.httpProbe),
  maintenance: guarded(read(new URL('./scripts/maintenance.sh', import.meta.url)), lib.httpProbe),
  canary: guarded(read(new URL('./scripts/canary.sh', import.meta.url)), lib.docker),
  load: guarded(read(new URL('./scripts/load.sh', import.meta.url)), lib.steps, lib.docker),
  ensureProxy: guarded(
    read(new URL('./scripts/ensure-proxy.sh', import.meta.url)), lib.docker, lib.network, lib.markers, lib.proxyLock, lib.proxyReload, lib.proxyPair
  ),
  allocate: guarded(read(new URL('./scripts/allocate.sh', import.meta.url)), lib.docker, lib.network, lib.proxyLock),
  writeRoute: guarded(read(new URL('./scripts/write-route.sh', import.meta.url)), lib.docker, lib.markers, lib.proxyLock, lib.proxyReload),
  removeRoute: guarded(read(new URL('./scripts/remove-route.sh', import.meta.url)), lib.docker, lib.markers, lib.proxyLock, lib.proxyReload),
  launch: guarded(
    read(new URL('./scripts/launch.sh', import.meta.url)),
    lib.steps, lib.docker, lib.runtime, lib.probeShell, lib.startCandidate, lib.healthLoop, lib.markers, lib.proxyLock, lib.switchLive
  ),
  switch: guarded(
    read(new URL('./scripts/switch.sh', import.meta.url)),
    lib.docker, lib.runtime, lib.probeShell, lib.markers, lib.proxyLock, lib.switchLive
  ),
  release: guarded(read(new URL('./scripts/release.sh', import.meta.url)), lib.steps, lib.docker, lib.runtime),
  workers: guarded(read(new URL('./scripts/workers.sh', import.meta.url)), lib.steps, lib.docker, lib.runtime),
  stopContainers: guarded(read(new URL('./scripts/stop-containers.sh', import.meta.url)), lib.docker),
  cancel: guarded(read(new URL('./scripts/cancel.sh', import.meta.url)), lib.steps),
  removeContainer: guarded(read(new URL('./scripts/remove-container.sh', import.meta.url)), lib.docker),
  retire: guarded(read(new URL('./scripts/retire.sh', import.meta.url)), lib.docker, lib.runtime, lib.state),
  tagImage: guarded('dk tag "$1" "$2"\n', lib.docker),
  writeState: guarded(read(new URL('./scripts/write-state.sh', import.meta.url)), lib.state),
  pruneImages: guarded(read(new URL('./scripts/prune-images.sh', import.meta.url)), lib.docker),
  tlsState: guarded(read(new URL('./scripts/tls-state.sh', import.meta.url)), lib.docker),
  tlsLock: guarded(read(new URL('./scripts/tls-lock.sh', import.meta.url))),
  tlsChallenge: guarded(read(new URL('./scripts/tls-challenge.sh', import.meta.url))),
  tlsAccount: guarded(read(new URL('./scripts/tls-account.sh', import.meta.url))),
  tlsKey: guarded(read(new URL('./scripts/tls-key.sh', import.meta.url)), lib.docker),
  tlsInstall: guarded(read(new URL('./scripts/tls-install.sh', import.meta.url)), lib.docker),
  tlsOrder: guarded(read(new URL('./scripts/tls-order.sh', import.meta.url))),
  ensureRenewal: guarded(read(new URL('./scripts/ensure-renewal.sh', import.meta.url)), lib.docker),
  /** Swappable (issue #18): publishing the HTTPS port on a running proxy. */
  recreateProxy: guarded(read(new URL('./scripts/recreate-proxy.sh', import.meta.url)), lib.docker, lib.proxyLock)
}

/** Scripts for the POSIX sh inside the proxy container (busybox on nginx:alpine). */
export const IN_PROXY = {
  probe: read(new URL('./scripts/in-proxy-probe.sh', import.meta.url)),
  verify: read(new URL('./scripts/in-proxy-verify.sh', import.meta.url)),
  ready: read(new URL('./scripts/in-proxy-ready.sh', import.meta.url)),
  owner: read(new URL('./scripts/in-proxy-owner.sh', import.meta.url))
}

/**
 * A Swarm's steps (host/swarm.ts, host/swarm-proxy.ts): on a manager (the network, the proxy
 * service, the slots' services, a rolling update) and on each node (the proxy's config, the
 * readiness of the new tasks as that node's proxy sees them, the switch, the drain).
 */
export const SWARM_SCRIPTS = {
  survey: withLibs(read(new URL('./scripts/swarm-survey.sh', import.meta.url)), lib.docker),
  network: guarded(read(new URL('./scripts/swarm-network.sh', import.meta.url)), lib.docker),
  proxyService: guarded(read(new URL('./scripts/swarm-proxy-service.sh', import.meta.url)), lib.docker),
  createService: guarded(read(new URL('./scripts/swarm-service.sh', import.meta.url)), lib.docker, lib.runtime),
  scale: guarded(read(new URL('./scripts/swarm-scale.sh', import.meta.url)), lib.docker),
  tasks: guarded(read(new URL('./scripts/swarm-tasks.sh', import.meta.url)), lib.steps, lib.docker, lib.runtime),
  rolling: guarded(read(new URL('./scripts/swarm-rolling.sh', import.meta.url)), lib.docker, lib.runtime),
  nodeRoute: guarded(read(new URL('./scripts/swarm-node-route.sh', import.meta.url)), lib.docker, lib.markers, lib.proxyLock, lib.proxyReload, lib.swarm),
  nodeUnroute: guarded(read(new URL('./scripts/swarm-node-unroute.sh', import.meta.url)), lib.docker, lib.markers, lib.proxyLock, lib.proxyReload, lib.swarm),
  nodeProxy: withLibs(read(new URL('./scripts/swarm-node-proxy.sh', import.meta.url)), lib.docker, lib.swarm),
  nodeReady: guarded(read(new URL('./scripts/swarm-node-ready.sh', import.meta.url)), lib.steps, lib.docker, lib.runtime, lib.swarm),
  nodeSwitch: guarded(read(new URL('./scripts/swarm-node-switch.sh', import.meta.url)), lib.docker, lib.markers, lib.proxyLock, lib.swarm),
  nodeDrain: guarded(read(new URL('./scripts/swarm-node-drain.sh', import.meta.url)), lib.steps, lib.docker, lib.swarm)
}
