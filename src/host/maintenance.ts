import type { Runner } from './guard.js'
import { probeHostName } from './nginx-config.js'
import { proxyDir } from './paths.js'
import { parseProbe, type ProbeResult } from './probe.js'
import { SCRIPTS } from './scripts.js'

// Maintenance is a page file per service in the proxy's conf.d, which the service's config tests
// per request: while it exists, every request but the health path gets it with a 503 and
// Retry-After. Turning it on or off is a file written or removed: no nginx reload.

export interface MaintenanceSpec {
  network: string
  service: string
  on: boolean
  /** The HTML to serve (on). */
  page: string
  /** The proxy's published port and a Host header of the service, to check what clients get. */
  port: number
  serverNames: string[]
}

export interface MaintenanceResult {
  /** What a client got once the page was in place (or gone). */
  answer?: ProbeResult & { maintenance: boolean }
  said: string
}

/** The page served when no maintenance-page is given. */
export function defaultMaintenancePage(service: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>Down for maintenance</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 4rem auto; padding: 0 1rem">
<h1>Down for maintenance</h1>
<p>${service} is being updated and will be back shortly. Please try again in a minute.</p>
</body>
</html>
`
}

export async function setMaintenance(run: Runner, spec: MaintenanceSpec): Promise<MaintenanceResult> {
  const host = probeHostName({ serverNames: spec.serverNames })
  const args = [proxyDir(spec.network), spec.service, spec.on ? 'on' : 'off', String(spec.port), '/', host]
  const result = await run(SCRIPTS.maintenance, args, { stdin: spec.on ? spec.page : '' })
  const lines = result.stdout.split('\n')
  if (result.code === 6) {
    throw new Error(`maintenance: ${spec.service} has no proxy config on network ${spec.network} of this host: deploy it once first`)
  }
  if (result.code === 5) {
    throw new Error(
      `maintenance: the proxy config of ${spec.service} was written by an older version of the action, without maintenance; ` +
        'deploy once with this version (it rewrites the config), then turn maintenance on'
    )
  }
  if (result.code !== 0) throw new Error(`maintenance: the host could not ${spec.on ? 'turn it on' : 'turn it off'}: ${result.stderr.trim() || `exit ${result.code}`}`)
  const said = lines.find((line) => line.startsWith('SERVES '))?.slice(7) ?? ''
  const answer = parseProbe(said)
  return { answer: answer && { ...answer, maintenance: /MAINTENANCE on/.test(said) }, said }
}
