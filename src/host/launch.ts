import type { EnvVar } from '../inputs.js'
import { lostLock, type Runner } from './guard.js'
import { HealthLines, describeAttempt, type HealthResult, type HealthSpec } from './health.js'
import type { Route } from './nginx-config.js'
import { proxyDir, proxyName } from './paths.js'
import { PROBE_SCRIPT } from './probe.js'
import { SCRIPTS } from './scripts.js'
import { switchOutcome, verifyEnv, type SwitchResult } from './proxy.js'
import { envFileText, type CandidateSpec } from './slots.js'

export interface Launch {
  /** Resolves once the candidate runs; rejects with Docker's reason when it could not start. */
  started: Promise<void>
  /** The health check's outcome; attempts seen so far are handed to onAttempt first. */
  health(onAttempt: (line: string) => void): Promise<HealthResult>
  /** A healthy candidate goes live at once; how the switch went (a lost lock rejects). */
  switched(): Promise<SwitchResult>
}

/** Where a healthy candidate is switched to: its route, recorded on the host as it goes live. */
export interface SwitchSpec {
  route: Route
  /** Healthy, the candidate waits (the workers start first) and switchSlot() switches. */
  hold?: boolean
}


// Start, health check and switch are one remote step (scripts/launch.sh); env values travel on
// stdin only.
export function launchCandidate(run: Runner, spec: CandidateSpec, env: EnvVar[], health: HealthSpec, sw: SwitchSpec): Launch {
  const out = new LaunchOutput()
  const finished = run(SCRIPTS.launch, launchArgs(spec, health, sw), {
    stdin: envFileText(env),
    onLine: (line) => out.take(line)
  })
  const outcome = finished.then((result) => {
    if (!out.started.done) throw new Error(`Could not start ${spec.name}: ${result.stderr.trim() || `exit ${result.code}`}`)
    return result
  })
  outcome.catch(() => undefined) // a start failure is reported through started
  const healthy = (): HealthResult => ({ healthy: true, attempts: out.health.attempts })
  const checked = Promise.race([
    out.healthy.promise.then(healthy),
    outcome.then((result) => (out.healthy.done ? healthy() : out.health.result(result.code, result.stderr, spec.name)))
  ])
  checked.catch(() => undefined) // likewise, when no health check follows a failed start
  const started = Promise.race([out.started.promise, outcome.then(() => undefined)])
  started.catch(() => undefined) // a caller that skips to switched() hears of it there
  return {
    started,
    health: (onAttempt) => {
      out.reportTo(onAttempt)
      return checked
    },
    switched: () => outcome.then((result) => switchOutcome(result.code, out.switchLines, sw.route, (detail) => lostLock(spec.service, detail)))
  }
}

function launchArgs(spec: CandidateSpec, health: HealthSpec, sw: SwitchSpec): string[] {
  const verify = verifyEnv(sw.route, health.path)
  const names = spec.names ?? [spec.name]
  const addresses = spec.addresses ?? []
  // Each replica is probed at its pinned address where it has one: no DNS on the way.
  const urls = names.map((name, i) => `http://${addresses[i] ?? name}:${health.appPort}${health.path}`)
  return [
    names.join('\n'), spec.network, spec.service, spec.slot, spec.image, spec.imageId, addresses.join('\n'), proxyName(spec.network),
    urls.join('\n'), String(health.timeoutSeconds), PROBE_SCRIPT, proxyDir(spec.network), JSON.stringify(sw.route),
    verify.BG_VERIFY, verify.BG_VERIFY_URL, verify.BG_HOST, verify.BG_SLOT,
    (spec.runFlags ?? []).join('\n'), (spec.command ?? []).join('\n'), sw.hold ? 'hold' : 'switch', spec.reuse ? 'reuse' : 'start'
  ]
}

/**
 * The switch as a step of its own (scripts/switch.sh), after a held launch: the candidate and
 * `also` (its workers) get their restart policy as the proxy moves to it.
 */
export async function switchSlot(run: Runner, spec: CandidateSpec, sw: SwitchSpec, healthPath: string, also: string[]): Promise<SwitchResult> {
  const verify = verifyEnv(sw.route, healthPath)
  const output: string[] = []
  const result = await run(
    SCRIPTS.switch,
    [
      spec.name, spec.service, spec.slot, proxyName(spec.network), PROBE_SCRIPT, proxyDir(spec.network), JSON.stringify(sw.route),
      verify.BG_VERIFY, verify.BG_VERIFY_URL, verify.BG_HOST, verify.BG_SLOT, [...(spec.names ?? [spec.name]).slice(1), ...also].join('\n')
    ],
    { onLine: (line) => output.push(line) }
  )
  return switchOutcome(result.code, output, sw.route, (detail) => lostLock(spec.service, detail))
}

/** A moment in the step's output that can be awaited, and asked about once it has passed. */
class Mark {
  done = false
  private reached: () => void = () => undefined
  readonly promise = new Promise<void>((resolve) => (this.reached = resolve))

  reach(): void {
    this.done = true
    this.reached()
  }
}

/** Sorts the launch step's output as it arrives: the start, the health attempts, then the switch's lines. */
class LaunchOutput {
  readonly health = new HealthLines()
  readonly switchLines: string[] = []
  readonly started = new Mark()
  readonly healthy = new Mark()
  private readonly early: string[] = []
  private report?: (line: string) => void

  take(line: string): void {
    if (this.healthy.done) {
      this.switchLines.push(line)
    } else if (line === 'STARTED') {
      this.started.reach()
    } else {
      const attempt = this.health.take(line)
      if (line.startsWith('HEALTHY ')) this.healthy.reach()
      if (attempt !== undefined) this.attempt(describeAttempt(attempt))
    }
  }

  /** Attempts seen so far go to onAttempt at once, later ones as they come. */
  reportTo(onAttempt: (line: string) => void): void {
    this.early.splice(0).forEach(onAttempt)
    this.report = onAttempt
  }

  private attempt(line: string): void {
    if (this.report) this.report(line)
    else this.early.push(line)
  }
}
