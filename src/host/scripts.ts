import { readFileSync } from 'node:fs'

// The remote shell code lives in real .sh files in scripts/ (shellcheck runs on them in CI). ncc
// copies each file named below into dist/ and rewrites its URL, so every path is a literal.
// A library file only defines functions; a script that calls them is sent with them in front.

const read = (url: URL): string => readFileSync(url, 'utf8')

const lib = {
  preflight: read(new URL('./scripts/lib-preflight.sh', import.meta.url)),
  probeShell: read(new URL('./scripts/lib-probe-shell.sh', import.meta.url)),
  healthLoop: read(new URL('./scripts/lib-health-loop.sh', import.meta.url)),
  startCandidate: read(new URL('./scripts/lib-start-candidate.sh', import.meta.url)),
  proxyLock: read(new URL('./scripts/lib-proxy-lock.sh', import.meta.url)),
  routeFiles: read(new URL('./scripts/lib-route-files.sh', import.meta.url)),
  switchLive: read(new URL('./scripts/lib-switch.sh', import.meta.url))
}

function withLibs(main: string, ...libs: string[]): string {
  return [...libs, main].join('\n')
}

/** Scripts for the host's bash (Ssh.run), with the libraries they call. */
export const SCRIPTS = {
  survey: withLibs(read(new URL('./scripts/survey.sh', import.meta.url)), lib.preflight),
  lock: read(new URL('./scripts/lock.sh', import.meta.url)),
  hostLayers: read(new URL('./scripts/host-layers.sh', import.meta.url)),
  ensureProxy: withLibs(read(new URL('./scripts/ensure-proxy.sh', import.meta.url)), lib.proxyLock),
  launch: withLibs(
    read(new URL('./scripts/launch.sh', import.meta.url)),
    lib.probeShell, lib.startCandidate, lib.healthLoop, lib.proxyLock, lib.routeFiles, lib.switchLive
  ),
  restoreRoute: withLibs(read(new URL('./scripts/restore-route.sh', import.meta.url)), lib.proxyLock, lib.routeFiles),
  retire: read(new URL('./scripts/retire.sh', import.meta.url)),
  writeState: read(new URL('./scripts/write-state.sh', import.meta.url)),
  pruneImages: read(new URL('./scripts/prune-images.sh', import.meta.url))
}

/** Scripts for the POSIX sh inside the proxy container (busybox on nginx:alpine). */
export const IN_PROXY = {
  probe: read(new URL('./scripts/in-proxy-probe.sh', import.meta.url)),
  switch: read(new URL('./scripts/in-proxy-switch.sh', import.meta.url))
}
