import type { EnvVar } from '../inputs.js'
import type { Ssh } from '../ssh.js'
import { HEALTH_LOOP, HealthLines, PROBE_SHELL, describeAttempt, type HealthResult, type HealthSpec } from './health.js'
import { proxyName } from './paths.js'
import { PROBE_SCRIPT } from './probe.js'
import { START_CANDIDATE, envFileText, type CandidateSpec } from './slots.js'

export interface Launch {
  /** Resolves once the candidate runs; rejects with Docker's reason when it could not start. */
  started: Promise<void>
  /** The health check's outcome; attempts seen so far are handed to onAttempt first. */
  health(onAttempt: (line: string) => void): Promise<HealthResult>
}

// Start and health check are one remote step, so the probe's shell in the proxy opens while
// docker run works (each costs a docker exec/run; side by side they overlap). env values travel
// on stdin into a 0600 file that lives only until docker run has read it: never on a command
// line, in a log, or in a file another user could open.
const LAUNCH_SCRIPT = `
name=$1 net=$2 service=$3 slot=$4 image=$5 id=$6 proxy=$7 url=$8 timeout=$9 probe=\${10}
envfile=$(mktemp)
trap 'rm -f "$envfile"; probe_close' EXIT
chmod 600 "$envfile"
cat > "$envfile"
${PROBE_SHELL}
probe_open
${START_CANDIDATE}
rm -f "$envfile"
echo STARTED
${HEALTH_LOOP}
`

export function launchCandidate(ssh: Ssh, spec: CandidateSpec, env: EnvVar[], health: HealthSpec): Launch {
  const lines = new HealthLines()
  const attempts: string[] = []
  let report: ((line: string) => void) | undefined
  let started = false
  let markStarted: () => void = () => undefined
  const running = new Promise<void>((resolve) => (markStarted = resolve))
  const url = `http://${spec.name}:${health.appPort}${health.path}`
  const finished = ssh.run(
    LAUNCH_SCRIPT,
    [spec.name, spec.network, spec.service, spec.slot, spec.image, spec.imageId,
      proxyName(spec.network), url, String(health.timeoutSeconds), PROBE_SCRIPT],
    {
      stdin: envFileText(env),
      onLine: (line) => {
        if (line === 'STARTED') {
          started = true
          markStarted()
          return
        }
        const attempt = lines.take(line)
        if (attempt === undefined) return
        if (report) report(describeAttempt(attempt))
        else attempts.push(describeAttempt(attempt))
      }
    }
  )
  const outcome = finished.then((result) => {
    if (!started) throw new Error(`Could not start ${spec.name}: ${result.stderr.trim() || `exit ${result.code}`}`)
    return lines.result(result.code, result.stderr, spec.name)
  })
  outcome.catch(() => undefined) // a start failure is reported through started
  return {
    started: Promise.race([running, outcome.then(() => undefined)]),
    health: (onAttempt) => {
      attempts.splice(0).forEach(onAttempt)
      report = onAttempt
      return outcome
    }
  }
}
