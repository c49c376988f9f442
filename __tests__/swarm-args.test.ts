import { serviceCreateFlags, serviceUpdateFlags, shellWord } from '../src/runtime/swarm-args.js'
import type { RuntimeSpec } from '../src/runtime/spec.js'

const empty: RuntimeSpec = { volumes: [], labels: {}, options: [] }
const full: RuntimeSpec = {
  volumes: [{ kind: 'volume', source: 'data', target: '/data', readOnly: false }, { kind: 'bind', source: '/srv/up', target: '/up', readOnly: true }],
  command: ['node', 'server.js', "it's"],
  entrypoint: '/usr/bin/tini',
  user: '1000:1000',
  memory: '512m',
  cpus: '0.5',
  labels: { 'com.example.team': 'shop' },
  stopTimeout: 30,
  options: [
    { flag: '--add-host', value: 'db:10.0.0.5' }, { flag: '--cap-drop', value: 'ALL' }, { flag: '--ulimit', value: 'nofile=1024:4096' },
    { flag: '--init' }, { flag: '--read-only' }, { flag: '--sysctl', value: 'net.core.somaxconn=1024' }, { flag: '--pids-limit', value: '200' },
    { flag: '--log-driver', value: 'local' }, { flag: '--log-opt', value: 'max-size=10m' }, { flag: '--stop-signal', value: 'SIGQUIT' },
    { flag: '--workdir', value: '/app' }, { flag: '--cap-add', value: 'NET_BIND_SERVICE' }
  ]
}

describe('the runtime as Swarm service flags', () => {
  it('gives none for no runtime', () => {
    expect(serviceCreateFlags(empty)).toEqual([])
    expect(serviceUpdateFlags(empty)).toEqual([])
  })

  it('spells each for docker service create: limits, container labels, a grace period, --host', () => {
    expect(serviceCreateFlags(full)).toEqual([
      '--mount=type=volume,source=data,target=/data', '--mount=type=bind,source=/srv/up,target=/up,readonly',
      '--user=1000:1000', '--limit-memory=512m', '--limit-cpu=0.5', '--container-label=com.example.team=shop',
      '--stop-grace-period=30s', '--entrypoint=/usr/bin/tini',
      '--host=db:10.0.0.5', '--cap-drop=ALL', '--ulimit=nofile=1024:4096', '--init', '--read-only', '--sysctl=net.core.somaxconn=1024',
      '--limit-pids=200', '--log-driver=local', '--log-opt=max-size=10m', '--stop-signal=SIGQUIT', '--workdir=/app', '--cap-add=NET_BIND_SERVICE'
    ])
  })

  it('spells each for docker service update, which adds or replaces by target and key, and takes the command as one --args', () => {
    const flags = serviceUpdateFlags(full)
    expect(flags.slice(0, 2)).toEqual(['--mount-add=type=volume,source=data,target=/data', '--mount-add=type=bind,source=/srv/up,target=/up,readonly'])
    expect(flags).toContain('--container-label-add=com.example.team=shop')
    expect(flags).toContain('--host-add=db:10.0.0.5')
    expect(flags).toContain('--ulimit-add=nofile=1024:4096')
    expect(flags).toContain('--sysctl-add=net.core.somaxconn=1024')
    expect(flags.at(-1)).toBe(`--args='node' 'server.js' 'it'"'"'s'`)
  })

  it('quotes a word for the CLI\'s shell-like split', () => {
    expect(shellWord('a b')).toBe("'a b'")
    expect(shellWord("$(x)'")).toBe(`'$(x)'"'"''`)
  })

  it('refuses an option that has no Swarm form, should one get past validation', () => {
    expect(() => serviceCreateFlags({ ...empty, options: [{ flag: '--tmpfs', value: '/tmp' }] })).toThrow('options: --tmpfs has no Swarm service equivalent')
  })
})
