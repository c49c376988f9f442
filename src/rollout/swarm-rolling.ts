import { rollingUpdate as updateService, surveySwarm, type RollingOutcome } from '../host/swarm.js'
import { shortId } from '../image/info.js'
import type { Inputs } from '../inputs.js'
import { stepLog } from '../report/log.js'
import type { Phases } from '../report/phases.js'
import { totalTransfer, type SwarmRollingReport } from '../report/swarm-report.js'
import { serviceUpdateFlags } from '../runtime/swarm-args.js'
import { CancelledError, untilCancelled } from './cancel.js'
import { agreedImageId } from './swarm-plan.js'
import { settleAll, type SwarmCrew, type SwarmDeps } from './swarm-nodes.js'

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
  const ref = inputs.rollback ? service.previousImage : inputs.image
  if (inputs.rollback && !ref) throw new Error(`rollback: ${inputs.service} has no previous spec to roll back to`)
  const imageId = inputs.rollback ? await previousImageId(crew, ref) : await step('transfer', 'Send the image to every node that lacks it', async () => {
    await crew.sendImage()
    return crew.agreedId(ref)
  })
  await crew.confirmImage(ref, imageId)
  log.info(`Every node holds ${ref} as ${shortId(imageId)}; the service will name it by that ID, which no node pulls`)
  // A rollback is an update to the image the service ran before, start-first: Swarm's own
  // rollback (docker service rollback) follows the previous spec's rollback order, stop-first
  // unless the stack said otherwise, and drops a task's worth of capacity at a time.
  const request = { name: inputs.service, imageId, timeoutSeconds: inputs.healthTimeout, flags: inputs.rollback ? [] : serviceUpdateFlags(inputs.runtime) }
  const outcome = await step('update', `Rolling update of ${inputs.service} to ${shortId(imageId)}, start-first`, () =>
    updateService(manager.guarded, request, (line) => log.info(`UpdateStatus: ${line}`)))
  if (!outcome.ok) throw new Error(failure(outcome, inputs, service.image))
  if (outcome.unchanged) log.info(`${inputs.service} already ran this image and runtime: Swarm had nothing to update`)
  const transfers = crew.taskNodes.map((m) => m.transfer).filter((transfer) => transfer !== undefined)
  return {
    kind: 'rolling',
    service: inputs.service,
    target: `${manager.host.target} (Swarm manager)`,
    image: ref,
    imageId,
    previousImage: service.image,
    rollback: inputs.rollback,
    unchanged: outcome.unchanged,
    nodes: crew.members.map((m) => ({ node: m.name, target: m.host.target, transfer: m.transfer })),
    transfer: totalTransfer(transfers, crew.taskNodes.find((m) => m.image)?.image?.sizeBytes ?? 0),
    phases: phases.times
  }
}

/** The image the service ran before, by the ID every task node gives it (a tag there would send each node to a registry). */
async function previousImageId(crew: SwarmCrew, ref: string): Promise<string> {
  const ids: { node: string; id: string }[] = []
  await settleAll(crew.taskNodes, async (m) => {
    const found = await m.host.inspectImage(ref)
    if (!found) throw new Error(`the image ${ref} that ${m.inputs.service} ran before is not on this node`)
    ids.push({ node: m.name, id: found.id })
  }, 'rollback: every node that may run a task must still hold the previous image; nothing in the Swarm changed')
  return agreedImageId(ref, ids)
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
      return `${what} did not finish within health-timeout (${inputs.healthTimeout} s; last state: ${outcome.detail || 'none'}); Swarm was asked to roll it back`
    default:
      return `docker service update refused ${inputs.rollback ? 'the rollback' : 'the update'} of ${inputs.service}${detail}`
  }
}
