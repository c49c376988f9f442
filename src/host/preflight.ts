import { NoBashError } from '../remote-shell.js'
import type { Ssh } from '../ssh.js'
import { STATE_ROOT } from './paths.js'

// Read-only checks that turn a host the action cannot use into one clear message,
// before anything on it changes.

export interface HostFacts {
  user: string
  dockerVersion: string
  /** Docker's containerd image store (the default of new Docker 29 installs). */
  containerdStore: boolean
  tools: string[]
}

const CHECKS = `
command -v docker >/dev/null 2>&1 || { echo "problem no-docker"; exit 0; }
command -v flock >/dev/null 2>&1 || { echo "problem no-flock"; exit 0; }
if ! info=$(docker info --format '{{.ServerVersion}}|{{.Driver}}|{{json .DriverStatus}}' 2>&1); then
  printf 'problem docker-error %s\\n' "$(printf '%s' "$info" | tr '\\n' ' ' | cut -c1-400)"; exit 0
fi
echo "docker $info"
if [ -e "$1" ]; then writable=$1; else writable=$(dirname "$1"); fi
[ -d "$writable" ] && [ -w "$writable" ] || { echo "problem state-dir"; exit 0; }
for tool in zstd pigz gzip; do if command -v "$tool" >/dev/null 2>&1; then echo "tool $tool"; fi; done
echo "user $(id -un)"
`

export async function preflight(ssh: Ssh): Promise<HostFacts> {
  const result = await ssh.run(CHECKS, [STATE_ROOT]).catch((error: unknown) => {
    if (error instanceof NoBashError) return { code: 0, stdout: 'problem no-bash', stderr: '' }
    throw error
  })
  return parsePreflight(result.stdout, ssh.target, result.stderr)
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
  const [version, , driverStatus] = docker.split('|')
  return {
    user: value('user') ?? '',
    dockerVersion: version,
    containerdStore: (driverStatus ?? '').includes('io.containerd.snapshotter'),
    tools: lines.filter((line) => line.startsWith('tool ')).map((line) => line.slice(5))
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
    default:
      if (/permission denied/i.test(detail)) {
        return `The user on ${target} may not use Docker (${detail}). Add the user to the docker group.`
      }
      return `Docker on ${target} does not answer: ${detail}`
  }
}
