// The app's runtime (runtime/spec.ts) as Swarm service flags: `docker service create` for the
// blue-green slots, `docker service update` for a rolling update. Pure. Swarm takes most of what
// `docker run` does under other names (limits are --limit-*, labels of the containers
// --container-label); what it cannot take at all is refused by validation (validate-swarm.ts),
// naming the option, before anything connects.
import { lineSafe, mountFlag } from './docker-args.js'
import type { RunOption } from './options.js'
import type { RuntimeSpec } from './spec.js'

/** The options flags a Swarm service has no equivalent for, and what to do instead. */
export const NOT_IN_SWARM: Record<string, string> = {
  '--tmpfs': 'a Swarm service mounts tmpfs with a size and mode only (use a volume)',
  '--shm-size': 'a Swarm service has no /dev/shm size',
  '--security-opt': 'docker service create has no --security-opt',
  '--memory-swap': 'a Swarm service takes a memory limit only (memory)'
}

/** How each allowed option is spelled for `docker service create` and for `docker service update`. */
const SPELLING: Record<string, { create: string; update: string }> = {
  '--add-host': { create: '--host', update: '--host-add' },
  '--cap-add': { create: '--cap-add', update: '--cap-add' },
  '--cap-drop': { create: '--cap-drop', update: '--cap-drop' },
  '--ulimit': { create: '--ulimit', update: '--ulimit-add' },
  '--log-driver': { create: '--log-driver', update: '--log-driver' },
  '--log-opt': { create: '--log-opt', update: '--log-opt' },
  '--read-only': { create: '--read-only', update: '--read-only' },
  '--init': { create: '--init', update: '--init' },
  '--sysctl': { create: '--sysctl', update: '--sysctl-add' },
  '--pids-limit': { create: '--limit-pids', update: '--limit-pids' },
  '--stop-signal': { create: '--stop-signal', update: '--stop-signal' },
  '--workdir': { create: '--workdir', update: '--workdir' }
}

type Verb = 'create' | 'update'

/** Why `spec` cannot run as a Swarm service, one line per problem; empty when it can. */
export function swarmRuntimeProblems(spec: RuntimeSpec): string[] {
  const problems: string[] = []
  if (spec.entrypoint === '') problems.push("entrypoint: '' (reset) is not possible for a Swarm service: docker service create reads an empty entrypoint as none given")
  for (const option of spec.options) {
    const why = NOT_IN_SWARM[option.flag]
    if (why) problems.push(`options: ${option.flag} is not supported with target: swarm (${why})`)
    else if (option.flag === '--add-host' && option.value?.endsWith(':host-gateway')) {
      problems.push('options: --add-host NAME:host-gateway is not supported with target: swarm (a service task has no host gateway name)')
    }
  }
  return problems
}

/** `docker service create` flags for the app's runtime: mounts, user, limits, labels, grace period, entrypoint, options. */
export function serviceCreateFlags(spec: RuntimeSpec): string[] {
  return serviceFlags(spec, 'create')
}

/** `docker service update` flags that set the same runtime on a service that exists (a rolling update). */
export function serviceUpdateFlags(spec: RuntimeSpec): string[] {
  const flags = serviceFlags(spec, 'update')
  // The command of an existing service is one --args string, split by the CLI as a shell would.
  if (spec.command !== undefined) flags.push(`--args=${spec.command.map(shellWord).join(' ')}`)
  return lineSafe(flags)
}

function serviceFlags(spec: RuntimeSpec, verb: Verb): string[] {
  // A mount with the same target replaces the old one in an update (--mount-add), as do labels by key.
  const mount = verb === 'create' ? '--mount' : '--mount-add'
  const label = verb === 'create' ? '--container-label' : '--container-label-add'
  const flags = [
    ...spec.volumes.map((volume) => mountFlag(volume).replace(/^--mount/, mount)),
    ...flag('--user', spec.user),
    ...flag('--limit-memory', spec.memory),
    ...flag('--limit-cpu', spec.cpus),
    ...Object.entries(spec.labels).map(([key, value]) => `${label}=${key}=${value}`),
    ...flag('--stop-grace-period', spec.stopTimeout === undefined ? undefined : `${spec.stopTimeout}s`),
    ...flag('--entrypoint', spec.entrypoint || undefined),
    ...spec.options.flatMap((option) => optionFlag(option, verb))
  ]
  return lineSafe(flags)
}

function optionFlag(option: RunOption, verb: Verb): string[] {
  const spelled = SPELLING[option.flag]?.[verb]
  // Validation refuses the others; one that slipped through must not reach the manager unnoticed.
  if (!spelled) throw new Error(`options: ${option.flag} has no Swarm service equivalent`)
  return [option.value === undefined ? spelled : `${spelled}=${option.value}`]
}

function flag(name: string, value: string | undefined): string[] {
  return value === undefined ? [] : [`${name}=${value}`]
}

/** A word for the CLI's shell-like split of --args: single-quoted, a quote as '"'"'. */
export function shellWord(word: string): string {
  return `'${word.replace(/'/g, `'"'"'`)}'`
}
