import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

jest.unstable_mockModule('@actions/core', () => coreMock())
const { parseInputs } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----'
const swarm = { target: 'swarm', host: 'manager.example.com', key: KEY, image: 'web:2' }

const errorOf = (raw: Record<string, string>): string => {
  try {
    parseInputs(raw)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('target: swarm', () => {
  it('reads replicas and swarm-update, with hosts as the nodes\' SSH addresses next to host', () => {
    const inputs = parseInputs({ ...swarm, replicas: '3', 'swarm-update': 'Rolling', hosts: '10.0.0.2\n10.0.0.3:2222' })
    expect(inputs.target).toBe('swarm')
    expect(inputs.host).toBe('manager.example.com')
    expect(inputs.hosts.map((target) => `${target.host}:${target.port}`)).toEqual(['10.0.0.2:22', '10.0.0.3:2222'])
    expect(inputs.replicas).toBe(3)
    expect(inputs.swarmUpdate).toBe('rolling')
  })

  it.each([
    [{ target: 'kubernetes' }, 'target: expected host or swarm, got "kubernetes"'],
    [{ host: '' }, 'host: required with target: swarm (a manager of the Swarm)'],
    [{ replicas: '0' }, 'replicas: expected a whole number from 1 to 100, got 0'],
    [{ replicas: '101' }, 'replicas: expected a whole number from 1 to 100, got 101'],
    [{ replicas: 'two' }, 'replicas: expected a whole number, got "two"'],
    [{ 'swarm-update': 'canary' }, 'swarm-update: expected bluegreen or rolling, got "canary"'],
    [{ 'release-command': 'bin/migrate' }, 'release-command: not supported with target: swarm (run the migration in an earlier step)'],
    [{ workers: 'jobs: bin/jobs' }, 'workers: not supported with target: swarm (deploy each worker as a service of its own)'],
    [{ canary: '10' }, 'canary: not supported with target: swarm yet'],
    [{ maintenance: 'on' }, 'maintenance: not supported with target: swarm yet'],
    [{ 'keep-previous': 'running' }, 'keep-previous: running is not supported with target: swarm'],
    [{ rollback: '2' }, 'rollback: only true (one release back) with target: swarm'],
    [{ tls: 'auto', 'server-name': 'shop.example.com', 'acme-email': 'ops@example.com' }, 'tls: not supported with target: swarm yet'],
    [{ entrypoint: "''" }, "entrypoint: '' (reset) is not possible for a Swarm service"],
    [{ options: '--tmpfs /tmp' }, 'options: --tmpfs is not supported with target: swarm (a Swarm service mounts tmpfs with a size and mode only (use a volume))'],
    [{ options: '--shm-size 256m' }, 'options: --shm-size is not supported with target: swarm'],
    [{ options: '--security-opt no-new-privileges' }, 'options: --security-opt is not supported with target: swarm'],
    [{ options: '--memory-swap 1g', memory: '512m' }, 'options: --memory-swap is not supported with target: swarm'],
    [{ options: '--add-host gw:host-gateway' }, 'options: --add-host NAME:host-gateway is not supported with target: swarm'],
    [{ service: 'web_app' }, 'service: expected lowercase letters, digits and dashes']
  ])('refuses %j before connecting, naming the input', (given, message) => {
    expect(errorOf({ ...swarm, ...given })).toContain(message)
  })

  it('with swarm-update: rolling, takes a stack\'s service name and refuses env, which docker service update reads only from its command line', () => {
    expect(errorOf({ ...swarm, 'swarm-update': 'rolling', service: 'shop_web' })).toBe('')
    expect(errorOf({ ...swarm, 'swarm-update': 'rolling', service: 'shop web' })).toMatch(/^service: expected a Swarm service name/)
    const message = errorOf({ ...swarm, 'swarm-update': 'rolling', service: 'shop_web', env: 'SECRET=hunter2' })
    expect(message).toMatch(/^env: not taken with swarm-update: rolling/)
    expect(message).not.toContain('hunter2')
  })

  it('takes the runtime a Swarm service has', () => {
    const options = '--init\n--read-only\n--cap-drop ALL\n--ulimit nofile=1024:4096\n--pids-limit 200\n--add-host db:10.0.0.5\n--log-opt max-size=10m'
    expect(errorOf({ ...swarm, options, volumes: 'data:/data', user: '1000:1000', memory: '256m', cpus: '0.5', labels: 'a=b', 'stop-timeout': '20' })).toBe('')
  })

  it('keeps replicas and swarm-update for target: swarm', () => {
    const host = { host: 'web.example.com', key: KEY, image: 'web:2' }
    expect(errorOf({ ...host, replicas: '21' })).toBe('replicas: expected a whole number from 1 to 20, got 21')
    expect(errorOf({ ...host, 'swarm-update': 'rolling' })).toBe('swarm-update: needs target: swarm')
    expect(errorOf({ ...host, options: '--tmpfs /tmp' })).toBe('')
  })
})
