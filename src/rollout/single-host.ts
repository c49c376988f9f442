import type { Host } from '../host/index.js'
import { SaveAhead } from '../image/runner.js'
import type { RunnerStore } from '../image/store.js'
import type { Inputs } from '../inputs.js'
import { Phases } from '../report/phases.js'
import type { DeployReport } from '../report/report.js'
import { connectionLost } from '../ssh/lost.js'
import { HostRun } from './host-run.js'
import { closeSession, lockHost, runnerStore, type DeployDeps } from './session.js'

export { CancelledError } from './cancel.js'
export type { DeployDeps } from './session.js'

/** One host: connect, check and lock it, then its blue-green sequence from start to end. */
export async function deploy(inputs: Inputs, deps: DeployDeps): Promise<DeployReport> {
  const phases = deps.phases ?? new Phases()
  const source = earlySource(inputs, deps)
  let host: Host
  try {
    host = await phases.run('connect', `Connect to ${inputs.host}:${inputs.port}`, () => deps.connect(inputs))
  } catch (error) {
    void source.then((early) => early.save?.stop())
    throw error
  }
  try {
    const { save, store } = await source
    const session = await lockHost(inputs, host, deps, phases, save ?? !store)
    session.store = store
    try {
      const run = new HostRun(inputs, deps, phases, session)
      try {
        await run.prepare()
        await run.release()
        await run.launch()
        await run.switchOver()
      } catch (error) {
        throw await run.undo(error as Error)
      }
      return await run.finish()
    } finally {
      await closeSession(session)
    }
  } catch (error) {
    // Each step that waited on a lost connection fails in its own words; the run says what happened.
    const lost = host.lost()
    throw lost ? connectionLost(host.target, lost, phases.current) : error
  } finally {
    host.close()
  }
}

/**
 * Where the image will come from, settled while the connection opens. The runner engine's own
 * store, when this runner can read it (image/store.ts): only the layers the host lacks are read,
 * and the first byte leaves at once. Otherwise docker save, started now: it spends seconds
 * exporting before its first byte (Docker's classic store writes the whole archive to disk
 * first), time the connection and the host's check can share. A host that turns out to have the
 * image stops it: the runner then spent an export for nothing, a cost paid in parallel. A
 * rollback names no image to save.
 */
async function earlySource(inputs: Inputs, deps: DeployDeps): Promise<{ save?: SaveAhead; store?: RunnerStore }> {
  if (inputs.rollback || !inputs.image) return {}
  const store = await runnerStore(inputs, deps)
  return store ? { store } : { save: new SaveAhead(inputs.image, (ref) => deps.runner.save(ref)) }
}
