import type { Platform } from '../image/platform.js'
import { STATE_ROOT } from './paths.js'

// Read-only checks that turn a host the action cannot use into one clear message,
// before anything on it changes.

export interface HostFacts {
  user: string
  dockerVersion: string
  tools: string[]
  /** The Docker server's OS and CPU architecture (Docker's names: linux, amd64, arm64...). */
  platform?: Platform
  /** CPU architectures the host runs under qemu (binfmt_misc handler names: aarch64, x86_64...). */
  emulated?: string[]
  /** The host kernel's boot ID: the runner's own when both run on one machine (link.ts). */
  bootId?: string
}

/** The host lacks bash: the remote shell could not even start. */
export function noBash(target: string): Error {
  return new Error(describeProblem('no-bash', target))
}

export function parsePreflight(stdout: string, target: string, stderr = ''): HostFacts {
  const lines = stdout.split('\n')
  const value = (key: string): string | undefined =>
    lines.find((line) => line.startsWith(`${key} `))?.slice(key.length + 1)
  const problem = value('problem')
  if (problem !== undefined) throw new Error(describeProblem(problem, target))
  const docker = value('docker')
  if (docker === undefined) {
    throw new Error(`The host ${target} gave no answer to the preflight check: ${stderr.trim() || stdout.trim()}`)
  }
  const [dockerVersion, os, arch] = docker.split(' ')
  const listed = (key: string): string[] => lines.filter((line) => line.startsWith(`${key} `)).map((line) => line.slice(key.length + 1))
  return {
    user: value('user') ?? '',
    dockerVersion,
    tools: listed('tool'),
    ...(os && arch ? { platform: { os, arch } } : {}),
    emulated: listed('emulates'),
    ...(value('boot') ? { bootId: value('boot') } : {})
  }
}

function describeProblem(problem: string, target: string): string {
  const [kind, ...rest] = problem.split(' ')
  const detail = rest.join(' ')
  switch (kind) {
    case 'no-bash':
      return `The host ${target} has no bash on the PATH; the action needs bash there.`
    case 'no-docker':
      return `The host ${target} has no docker command on the PATH; install Docker there.`
    case 'no-flock':
      return `The host ${target} has no flock (util-linux); the action needs it to lock deploys.`
    case 'state-dir':
      return (
        `The user on ${target} cannot write ${STATE_ROOT}. Create it once as root: ` +
        `install -d -o <user> ${STATE_ROOT}`
      )
    case 'docker-timeout':
      return `The Docker engine on ${target} did not answer docker version within ${detail} s; nothing on the host was changed.`
    default:
      if (/permission denied/i.test(detail)) {
        return `The user on ${target} may not use Docker (${detail}). Add the user to the docker group.`
      }
      return `Docker on ${target} does not answer: ${detail}`
  }
}
