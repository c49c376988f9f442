import type { Inputs } from './inputs.js'

type Checked = Omit<Inputs, 'tls'>
import { swarmRuntimeProblems } from './runtime/swarm-args.js'

// The Swarm's own inputs (replicas, swarm-update) and what a Swarm cannot take of the others,
// refused before anything connects, each message naming the input.

/** Docker's form of a service name; a stack's services are <stack>_<name>. */
const SWARM_SERVICE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/
export const MAX_SWARM_REPLICAS = 100

export function validateSwarm(inputs: Checked): void {
  check(['bluegreen', 'rolling'].includes(inputs.swarmUpdate), `swarm-update: expected bluegreen or rolling, got "${inputs.swarmUpdate}"`)
  if (inputs.target !== 'swarm') {
    check(inputs.swarmUpdate === 'bluegreen', 'swarm-update: needs target: swarm')
    return
  }
  // Both are steps around one container of a host; as services they would need a design of their own.
  check(inputs.releaseCommand === undefined, 'release-command: not supported with target: swarm (run the migration in an earlier step)')
  check(inputs.workers.length === 0, 'workers: not supported with target: swarm (deploy each worker as a service of its own)')
  // The proxy's files for these live on one host; on a Swarm each node's proxy would need them
  // in step, which this version does not do. Refused rather than half done.
  check(inputs.canary === 0, 'canary: not supported with target: swarm yet (use canary-hosts with hosts, or swarm-update: rolling)')
  check(inputs.maintenance === undefined, 'maintenance: not supported with target: swarm yet')
  check(inputs.keepPrevious === 'stopped', 'keep-previous: running is not supported with target: swarm (the previous service is kept at 0 tasks)')
  check(inputs.rollbackSteps <= 1, 'rollback: only true (one release back) with target: swarm')
  const problems = swarmRuntimeProblems(inputs.runtime)
  check(problems.length === 0, problems.join('\n'))
  if (inputs.swarmUpdate === 'rolling') validateRolling(inputs)
}

function validateRolling(inputs: Checked): void {
  check(
    SWARM_SERVICE.test(inputs.service),
    `service: expected a Swarm service name (letters, digits, _ . -, at most 63), such as mystack_web, got "${inputs.service}"`
  )
  // docker service update has no --env-file: the values would be on the docker command line on
  // the manager, where every user of it can read them.
  check(
    inputs.env.length === 0,
    'env: not taken with swarm-update: rolling (docker service update reads env only from its command line, ' +
      'where other users of the manager could read it); keep it in your stack file or in Docker secrets'
  )
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}
