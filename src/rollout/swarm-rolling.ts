import { rollingUpdate as updateService, surveySwarm, type RollingOutcome } from '../host/swarm.js'
import { shortId } from '../image/info.js'
import type { Inputs } from '../inputs.js'
import { stepLog } from '../report/log.js'
import type { Phases } from '../report/phases.js'
import { totalTransfer, type SwarmRollingReport } from '../report/swarm-report.js'
import { serviceUpdateFlags } from '../runtime/swarm-args.js'
import { CancelledError, untilCancelled } from './cancel.js'
import type { SwarmCrew, SwarmDeps } from './swarm-nodes.js'

// swarm-update: rolling. For a stack the user runs already: the action brings the image to every
// node (as for blue-green) and then lets Swarm replace the service's tasks itself, start-first,
// rolled back by Swarm when a new task fails. No proxy of the action's: what Swarm cannot see
// (an app without a HEALTHCHECK that takes requests before it is ready, host-mode ports, which
// cannot start a second task on one node) it cannot catch; the README says so. The outcome is
// read from the service's UpdateStatus under health-timeout, never from docker service update's
// exit code (0 after an automatic rollback) or its wait (for ever on an update it cannot place).

export async function rollingUpdate(inputs: Inputs, deps: SwarmDeps, phases: Phases, crew: SwarmCrew): Promise<SwarmRollingReport> {
  const log = deps.log ?? stepLog
  const manager = crew.manager
  const step = async <T>(name: string, title: string, body: () => Promise<T>): Promise<T> => {
    if (deps.signal?.aborted) throw new CancelledError('Cancelled before the update: the service was not changed')
    manager.session?.lock.assertHeld()
    return phases.run(name, title, () => untilCancelled(body(), deps.signal, () => `Cancelled during the ${name} phase`))
  }
  const swarm = await surveySwarm(manager.run, inputs.network, [inputs.service])
  const service = swarm.services.get(inputs.service)
  if (!service) {
    throw new Error(`service: ${inputs.service} is not a service of this Swarm; swarm-update: rolling updates a service you run (a stack's are named <stack>_<name>)`)
  }
  if (service.replicas === undefined) log.info(`${inputs.service} is global: Swarm replaces its task on each node in turn`)
  let imageId = ''
  if (inputs.rollback) {
    if (!service.previousImage) throw new Error(`rollback: ${inputs.service} has no previous spec to roll back to`)
    if (service.previousImage.startsWith('sha256:')) await crew.confirmImage(service.previousImage, service.previousImage)
  } else {
    await step('transfer', 'Send the image to every node that lacks it', () => crew.sendImage())
    imageId = crew.agreedId(inputs.image)
    await crew.confirmImage(inputs.image, imageId)
    log.info(`Every node holds ${inputs.image} as ${shortId(imageId)}; the service will name it by that ID, which no node pulls`)
  }
  const mode = inputs.rollback ? 'rollback' : 'update'
  const request = { name: inputs.service, imageId, timeoutSeconds: inputs.healthTimeout, flags: inputs.rollback ? [] : serviceUpdateFlags(inputs.runtime), mode } as const
  const outcome = await step('update', inputs.rollback ? `Roll ${inputs.service} back (docker service rollback)` : `Rolling update of ${inputs.service}, start-first`, () =>
    updateService(manager.guarded, request, (line) => log.info(`UpdateStatus: ${line}`)))
  if (!outcome.ok) throw new Error(failure(outcome, inputs, service.image))
  if (outcome.unchanged) log.info(`${inputs.service} already ran this image and runtime: Swarm had nothing to update`)
  const transfers = crew.taskNodes.map((m) => m.transfer).filter((transfer) => transfer !== undefined)
  return {
    kind: 'rolling',
    service: inputs.service,
    target: `${manager.host.target} (Swarm manager)`,
    image: inputs.rollback ? service.previousImage : inputs.image,
    imageId: inputs.rollback ? service.previousImage : imageId,
    previousImage: service.image,
    rollback: inputs.rollback,
    unchanged: outcome.unchanged,
    nodes: crew.members.map((m) => ({ node: m.name, target: m.host.target, transfer: m.transfer })),
    transfer: totalTransfer(transfers, crew.taskNodes.find((m) => m.image)?.image?.sizeBytes ?? 0),
    phases: phases.times
  }
}

function failure(outcome: Exclude<RollingOutcome, { ok: true }>, inputs: Inputs, before: string): string {
  const what = inputs.rollback ? `The rollback of ${inputs.service}` : `The rolling update of ${inputs.service}`
  const detail = outcome.detail ? `: ${outcome.detail}` : ''
  switch (outcome.kind) {
    case 'rolled-back':
      return `${what} failed, and Swarm rolled it back on its own to its previous spec (${before})${detail}`
    case 'paused':
      return `${what} paused${detail}; see docker service ps ${inputs.service}`
    case 'timeout':
      return `${what} did not finish within health-timeout (${inputs.healthTimeout} s; last state: ${outcome.detail || 'none'})` +
        (inputs.rollback ? '' : '; Swarm was asked to roll it back')
    default:
      return `docker service update refused the update of ${inputs.service}${detail}`
  }
}
