import { surveySwarm, type SwarmSurvey } from '../host/swarm.js'
import type { Inputs } from '../inputs.js'
import { stepLog } from '../report/log.js'
import { Phases } from '../report/phases.js'
import type { SwarmReport } from '../report/swarm-report.js'
import { connectionLost } from '../ssh/lost.js'
import { SwarmBlueGreen } from './swarm-bluegreen.js'
import { planNodes, serviceNames } from './swarm-plan.js'
import { SwarmCrew, type NodeLink, type SwarmDeps } from './swarm-nodes.js'
import { rollingUpdate } from './swarm-rolling.js'

export type { SwarmDeps } from './swarm-nodes.js'

// target: swarm. `host` is a manager: it says which nodes the Swarm has, and each node that may
// run a task is reached over SSH (swarm-nodes.ts), checked and locked, and gets the image before
// anything in the Swarm changes. Then either the blue-green sequence between two services behind
// the action's proxy service (swarm-bluegreen.ts), or Swarm's own rolling update of a service the
// user runs (swarm-rolling.ts).

export async function deploySwarm(inputs: Inputs, deps: SwarmDeps): Promise<SwarmReport> {
  const phases = deps.phases ?? new Phases()
  const manager = await phases.run('connect', `Connect to the manager ${inputs.host}:${inputs.port}`, () => deps.connectNode(inputs))
  let crew: SwarmCrew | undefined
  try {
    const rolling = inputs.swarmUpdate === 'rolling'
    const seen = await phases.run('swarm', 'Read the Swarm', () => surveySwarm(manager.run, inputs.network, serviceNames(inputs)))
    refuseNonManager(seen, manager)
    const plan = planNodes(seen.nodes, seen.nodeId, inputs)
    for (const node of plan.skipped) (deps.log ?? stepLog).info(`Node ${node.hostname} (${node.addr}) is drained: no task runs there, so the image does not go there`)
    crew = new SwarmCrew(inputs, deps, plan, manager)
    const all = crew
    await phases.run('connect', `Connect to every node (${plan.reach.length})`, () => all.connect())
    await phases.run('lock', `Check every node and lock ${inputs.service} on each, the manager first`, () => all.lock(!rolling))
    if (rolling) return await rollingUpdate(inputs, deps, phases, all)
    return await new SwarmBlueGreen(inputs, deps, phases, all, plan.skipped).run()
  } catch (error) {
    // Steps that waited on a lost connection fail in their own words; the run says what happened.
    const lost = crew?.lost()
    const managerLost = manager.host.lost()
    if (lost) throw connectionLost(lost.member.host.target, lost.reason, phases.current)
    if (managerLost) throw connectionLost(manager.host.target, managerLost, phases.current)
    throw error
  } finally {
    if (crew) await crew.close()
    else manager.host.close()
  }
}

function refuseNonManager(seen: SwarmSurvey, manager: NodeLink): void {
  if (seen.localState !== 'active') {
    throw new Error(`host: ${manager.host.target} is in no Swarm (its Docker reports Swarm state "${seen.localState || 'unknown'}"); give a manager's address, or use target: host`)
  }
  if (!seen.manager) {
    throw new Error(`host: ${manager.host.target} is a worker of its Swarm, not a manager; give a manager's address (docker node ls there lists them)`)
  }
}
