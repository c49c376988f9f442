import type { Host } from '../host/index.js'
import { FanoutSource, SaveFanout } from '../image/fanout.js'
import type { Inputs } from '../inputs.js'
import { hostLog } from '../report/log.js'
import { Phases } from '../report/phases.js'
import type { HostOutcome, RolloutReport } from '../report/report.js'
import { connectionLost } from '../ssh/lost.js'
import { HostRun } from './host-run.js'
import { closeSession, lockHost, runnerStore, type DeployDeps, type Session } from './session.js'
import type { HostTarget } from './targets.js'

// Several servers in one step. Every host is connected, checked and locked before any changes;
// the image is exported once and streamed to every host that lacks it at the same time. The
// first canary-hosts go live alone, then the rest in batches of batch-size, each host doing the
// whole blue-green sequence. With all-or-nothing (the default), a failure anywhere sends every
// host that switched back to its previous release: its old slot still runs until all succeed,
// so going back is a proxy switch. The release command runs once, on the first host.

/** One host of the rollout: its inputs, log, phase times and, once locked, its run. */
interface Member {
  target: HostTarget
  inputs: Inputs
  phases: Phases
  deps: DeployDeps
  host?: Host
  session?: Session
  run?: HostRun
  outcome?: HostOutcome
}

/** Thrown with the rollout's report when any host failed, so the summary can show every host. */
export class RolloutError extends Error {
  constructor(message: string, readonly report: RolloutReport) {
    super(message)
  }
}

export async function deployHosts(inputs: Inputs, deps: DeployDeps): Promise<RolloutReport> {
  const members = inputs.hosts.map((target) => member(inputs, deps, target))
  try {
    await connectAll(members)
    await lockAll(members)
    await shareTheExport(inputs, members, deps)
    await Promise.all(members.map((m) => m.run!.prepare()))
    return await goLive(inputs, members)
  } catch (error) {
    const failed = error instanceof RolloutError ? error : await failedBefore(members, error as Error)
    throw failed
  } finally {
    await Promise.all(members.map((m) => (m.session ? closeSession(m.session).catch(() => undefined) : undefined)))
    for (const m of members) m.host?.close()
  }
}

function member(inputs: Inputs, deps: DeployDeps, target: HostTarget): Member {
  const name = `${target.host}:${target.port}`
  const log = hostLog(name)
  const phases = new Phases(log)
  const own = { ...inputs, host: target.host, port: target.port, hosts: [], fingerprints: target.fingerprints.length ? target.fingerprints : inputs.fingerprints }
  return { target, inputs: own, phases, deps: { ...deps, log, phases } }
}

/** An unreachable host stops the rollout before any host changes. */
async function connectAll(members: Member[]): Promise<void> {
  await Promise.all(
    members.map(async (m) => {
      m.host = await m.phases.run('connect', `Connect to ${m.target.host}:${m.target.port}`, () => m.deps.connect(m.inputs)).catch((error: Error) => {
        throw new Error(`${m.target.host}:${m.target.port}: ${error.message}`)
      })
    })
  )
}

/** Every host checked (read-only) and locked: any refusal stops the rollout with nothing changed. */
async function lockAll(members: Member[]): Promise<void> {
  const locked = await Promise.allSettled(
    members.map(async (m) => {
      m.session = await lockHost(m.inputs, m.host!, m.deps, m.phases, false)
      m.run = new HostRun(m.inputs, m.deps, m.phases, m.session)
    })
  )
  const refused = locked.flatMap((result, i) => (result.status === 'rejected' ? [`${members[i].host!.target}: ${(result.reason as Error).message}`] : []))
  if (refused.length) throw new Error(`Refused before any host changed:\n${refused.join('\n')}`)
}

/**
 * Every host that lacks the image reads the layers it lacks from the runner's store, where it can
 * be read; else one docker save serves them all, each reading a branch of it.
 */
async function shareTheExport(inputs: Inputs, members: Member[], deps: DeployDeps): Promise<void> {
  const senders = members.filter((m) => m.session!.checked.plan.source === 'sent')
  if (senders.length === 0) return
  const { ref, image } = senders[0].session!.checked.plan
  const store = await runnerStore(inputs, deps, image)
  if (store) return senders.forEach((m) => (m.session!.store = store))
  const fanout = new SaveFanout(deps.runner.save(ref), senders.length)
  senders.forEach((m, i) => (m.session!.ahead = new FanoutSource(ref, fanout.branch(i), (again) => deps.runner.save(again))))
}

/** Canaries, then batches; each host's release step, candidate and switch; then every host finishes. */
async function goLive(inputs: Inputs, members: Member[]): Promise<RolloutReport> {
  const canaries = members.slice(0, Math.max(1, Math.min(inputs.canaryHosts, members.length)))
  const rest = members.slice(canaries.length)
  const first = canaries[0]
  const releaseFailed = await settle([first], async (m) => m.run!.release())
  if (releaseFailed.length) return giveUp(inputs, members, [], releaseFailed)
  const ranOn = { target: first.run!.target, ran: first.run!.releaseRan }
  for (const m of members.slice(1)) await m.run!.release(ranOn)
  const batches = [canaries, ...chunks(rest, inputs.batchSize || rest.length)]
  const switched: Member[] = []
  for (const batch of batches) {
    const failed = await settle(batch, async (m) => {
      await m.run!.launch()
      await m.run!.switchOver()
    })
    switched.push(...batch.filter((m) => !failed.includes(m)))
    if (failed.length) return giveUp(inputs, members, switched, failed)
  }
  await Promise.all(members.map(async (m) => finishOne(m)))
  const report = rolloutReport(members)
  const unfinished = members.filter((m) => m.outcome?.result !== 'live')
  if (unfinished.length) throw new RolloutError(`${unfinished.length} of ${members.length} hosts did not finish`, report)
  return report
}

/** Runs `step` on each member at once; a member whose step fails is undone and returned. */
async function settle(batch: Member[], step: (m: Member) => Promise<void>): Promise<Member[]> {
  const results = await Promise.allSettled(batch.map(step))
  const failed: Member[] = []
  for (const [i, result] of results.entries()) {
    if (result.status === 'fulfilled') continue
    const m = batch[i]
    const undone = await m.run!.undo(result.reason as Error)
    m.outcome = { target: m.run!.target, result: 'failed', error: undone.message }
    failed.push(m)
  }
  return failed
}

/**
 * A host failed: those that did not start stay as they were; with all-or-nothing the ones that
 * switched go back, else they finish; the step fails with every host's outcome.
 */
async function giveUp(inputs: Inputs, members: Member[], switched: Member[], failed: Member[]): Promise<never> {
  const untouched = members.filter((m) => !switched.includes(m) && !failed.includes(m))
  for (const m of untouched) {
    await m.run!.undo(new Error('not started: another host failed')).catch(() => undefined)
    m.outcome = { target: m.run!.target, result: 'not started' }
  }
  if (inputs.allOrNothing) {
    await Promise.all(
      switched.map(async (m) => {
        const now = await m.run!.revert().catch((error: Error) => `switching back failed: ${error.message}`)
        m.outcome = { target: m.run!.target, result: 'reverted', error: now }
      })
    )
  } else {
    await Promise.all(switched.map(async (m) => finishOne(m)))
  }
  const names = failed.map((m) => m.run!.target).join(', ')
  const kept = inputs.allOrNothing ? 'every host that had switched went back' : 'the hosts that switched keep the new release'
  throw new RolloutError(`${names} failed; ${kept} (all-or-nothing: ${inputs.allOrNothing})`, rolloutReport(members))
}

async function finishOne(m: Member): Promise<void> {
  try {
    const report = await m.run!.finish()
    m.outcome = { target: m.run!.target, result: 'live', report }
  } catch (error) {
    m.outcome = { target: m.run!.target, result: 'failed', error: (error as Error).message }
  }
}

/** A failure before any host went live: each host's own words, or the lost connection. */
async function failedBefore(members: Member[], error: Error): Promise<Error> {
  for (const m of members) {
    const lost = m.host?.lost()
    if (lost) return connectionLost(m.host!.target, lost, m.phases.current)
  }
  // Hosts already prepared may hold a first deploy's config: undo each.
  await Promise.all(members.map((m) => m.run?.undo(error).catch(() => undefined)))
  return error
}

function rolloutReport(members: Member[]): RolloutReport {
  return {
    hosts: members.map((m) => m.outcome ?? { target: m.host?.target ?? `${m.target.host}:${m.target.port}`, result: 'not started' }),
    phases: members.map((m) => ({ target: m.host?.target ?? m.target.host, times: m.phases.times }))
  }
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}

