import type { Host } from '../host/index.js'
import { defaultMaintenancePage } from '../host/maintenance.js'
import type { Inputs } from '../inputs.js'
import { hostLog, stepLog } from '../report/log.js'
import { Phases } from '../report/phases.js'
import { connectionLost } from '../ssh/lost.js'
import { untilCancelled } from './cancel.js'
import type { DeployDeps } from './session.js'

// Maintenance on or off, on one host: under the service's deploy lock (so it never lands in the
// middle of a deploy), a page file written or removed, then a request through the proxy's
// published port to show what clients now get.

export interface MaintenanceReport {
  target: string
  service: string
  on: boolean
  /** The status a client got for / afterwards, and whether it was the maintenance page. */
  status: number
  page: boolean
}

export async function switchMaintenance(inputs: Inputs, deps: DeployDeps): Promise<MaintenanceReport> {
  const on = inputs.maintenance === 'on'
  const phases = deps.phases ?? new Phases()
  const log = deps.log ?? stepLog
  const host: Host = await phases.run('connect', `Connect to ${inputs.host}:${inputs.port}`, () => deps.connect(inputs))
  try {
    const pending = host.openLock({
      service: inputs.service,
      timeoutSeconds: inputs.lockTimeout,
      holder: deps.holder,
      onWait: (holder) => log.info(`Another deploy of ${inputs.service} holds the lock: ${holder}; waiting`),
      onSilent: (seconds) => log.info(`No answer from the host's lock session after ${seconds} s; still waiting`)
    })
    const lock = await phases.run('lock', `Lock ${inputs.service} on the host`, () =>
      untilCancelled(pending.acquire(), deps.signal, () => 'Cancelled while waiting for the deploy lock; nothing on the host changed')
    )
    try {
      return await phases.run('maintenance', `Maintenance ${on ? 'on' : 'off'} for ${inputs.service}`, async () => {
        const result = await host.setMaintenance({
          network: inputs.network,
          service: inputs.service,
          on,
          page: inputs.maintenancePage || defaultMaintenancePage(inputs.service),
          port: inputs.proxyPort,
          serverNames: inputs.serverNames
        })
        const answer = result.answer
        if (!answer || answer.maintenance !== on || (on && answer.status !== 503)) {
          throw new Error(`maintenance: turned ${on ? 'on' : 'off'}, but the proxy's port ${inputs.proxyPort} answered: ${result.said || 'nothing'}`)
        }
        log.info(on ? `${inputs.service} now answers 503 with the maintenance page (the health path still reaches the app)` : `${inputs.service} serves its app again (HTTP ${answer.status})`)
        return { target: host.target, service: inputs.service, on, status: answer.status, page: answer.maintenance }
      })
    } finally {
      await lock.release()
    }
  } catch (error) {
    const lost = host.lost()
    throw lost ? connectionLost(host.target, lost, phases.current) : error
  } finally {
    host.close()
  }
}

/** Every host of the step, one after the other; a failure says which hosts were already switched. */
export async function maintenanceOnHosts(inputs: Inputs, deps: DeployDeps): Promise<MaintenanceReport[]> {
  if (inputs.hosts.length === 0) return [await switchMaintenance(inputs, deps)]
  const reports: MaintenanceReport[] = []
  for (const target of inputs.hosts) {
    const own = { ...inputs, host: target.host, port: target.port, hosts: [], fingerprints: target.fingerprints.length ? target.fingerprints : inputs.fingerprints }
    try {
      reports.push(await switchMaintenance(own, { ...deps, log: hostLog(`${target.host}:${target.port}`), phases: new Phases(hostLog(`${target.host}:${target.port}`)) }))
    } catch (error) {
      const done = reports.map((report) => report.target)
      const state = `maintenance ${inputs.maintenance}`
      throw new Error(`${target.host}:${target.port}: ${(error as Error).message}\n${done.length ? `Already ${state}: ${done.join(', ')}` : `No host was switched to ${state}`}; the rest were not touched.`)
    }
  }
  return reports
}
