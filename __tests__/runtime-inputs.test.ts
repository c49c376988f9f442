import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

jest.unstable_mockModule('@actions/core', () => coreMock())
const { parseInputs } = await import('../src/inputs.js')
const { parseLabels, parseVolumes, parseWorkers } = await import('../src/runtime/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
const base = { host: 'example.com', key: KEY, image: 'ghcr.io/acme/web:1.4.2' }
const parse = (overrides: Record<string, string>) => parseInputs({ ...base, ...overrides })
const errorOf = (overrides: Record<string, string>): string => {
  try {
    parse(overrides)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('runtime inputs', () => {
  it('reads every runtime input', () => {
    const inputs = parse({
      volumes: 'data:/var/lib/app\n/srv/uploads:/app/uploads:ro',
      command: 'node server.js --port 3000',
      entrypoint: '/sbin/tini',
      user: '1000:1000',
      memory: '512m',
      cpus: '0.5',
      labels: 'com.example.team=web\ntraefik.enable=true',
      'stop-timeout': '30',
      options: '--init\n--ulimit nofile=4096',
      'release-command': 'npm run migrate',
      'release-timeout': '600',
      'release-on-rollback': 'true',
      workers: 'mail: node mail.js\nqueue*3: node queue.js --fast',
      'worker-settle': '10'
    })
    expect(inputs).toMatchObject({
      runtime: {
        volumes: [
          { kind: 'volume', source: 'data', target: '/var/lib/app', readOnly: false },
          { kind: 'bind', source: '/srv/uploads', target: '/app/uploads', readOnly: true }
        ],
        command: ['node', 'server.js', '--port', '3000'],
        entrypoint: '/sbin/tini',
        user: '1000:1000',
        memory: '512m',
        cpus: '0.5',
        labels: { 'com.example.team': 'web', 'traefik.enable': 'true' },
        stopTimeout: 30,
        options: [{ flag: '--init' }, { flag: '--ulimit', value: 'nofile=4096' }]
      },
      releaseCommand: ['npm', 'run', 'migrate'],
      releaseTimeout: 600,
      releaseOnRollback: true,
      workers: [
        { name: 'mail', command: ['node', 'mail.js'], count: 1 },
        { name: 'queue', command: ['node', 'queue.js', '--fast'], count: 3 }
      ],
      workerSettle: 10
    })
  })

  it.each([
    // volumes
    [{ volumes: 'data:data' }, /^volumes: line 1 needs an absolute container path after the ":", such as \/data.*got "data:data"$/],
    [{ volumes: './data:/data' }, /^volumes: line 1 needs an absolute host path \(a relative one such as \.\/data is not allowed\)/],
    [{ volumes: '~/data:/data' }, /^volumes: line 1 needs an absolute host path/],
    [{ volumes: 'data' }, /^volumes: line 1 must be two or three fields separated by ":" \(NAME:\/path or \/host\/path:\/path, optionally ending :ro or :rw\)/],
    [{ volumes: 'a:/b:c:d' }, /^volumes: line 1 must be two or three fields/],
    [{ volumes: 'data:/data:z' }, /^volumes: line 1 may end in :ro or :rw only/],
    [{ volumes: 'data:/' }, /^volumes: line 1 needs an absolute container path/],
    [{ volumes: 'data:/app/../etc' }, /^volumes: line 1 needs an absolute container path/],
    [{ volumes: '/srv/../etc:/data' }, /^volumes: line 1 needs a host path of letters, digits/],
    [{ volumes: '/srv/my data:/data' }, /^volumes: line 1 needs a host path/],
    [{ volumes: '/srv/a,readonly=false:/data' }, /^volumes: line 1 needs a host path/],
    [{ volumes: 'data:/data,type=bind' }, /^volumes: line 1 needs an absolute container path/],
    [{ volumes: '$(id):/data' }, /^volumes: line 1 needs an absolute host path .* or a volume name/],
    [{ volumes: 'a:/data' }, /^volumes: line 1 needs an absolute host path .* or a volume name of letters, digits and _ \. - \(at least 2\)/],
    [{ volumes: 'a1:/data\n# more\nb1:/data/' }, /^volumes: line 3: \/data is mounted already by an earlier line/],
    // command and release-command
    [{ command: 'node app.js; touch /tmp/x' }, /^command: ";" at character 12 means something only to a shell/],
    [{ command: 'echo $(id)' }, /^command: "\$" at character 6/],
    [{ 'release-command': 'rake db:migrate `id`' }, /^release-command: "`" at character 17 means something only to a shell/],
    [{ 'release-command': "echo 'x" }, /^release-command: the single quote at character 6 is never closed/],
    // entrypoint
    [{ entrypoint: 'tini --' }, /^entrypoint: expected one word, the program \(such as \/usr\/bin\/tini, or '' to reset it\); its arguments go in command$/],
    [{ entrypoint: '/bin/sh;id' }, /^entrypoint: ";" at character 8/],
    // user
    [{ user: 'app;id' }, /^user: expected a user name or uid, optionally with :group or :gid \(such as app or 1000:1000\), got "app;id"$/],
    [{ user: '1000:1000:1000' }, /^user: expected/],
    [{ user: ':1000' }, /^user: expected/],
    [{ user: '4294967295' }, /^user: expected/],
    [{ user: 'a'.repeat(33) }, /^user: expected/],
    // memory
    [{ memory: '4m' }, /^memory: expected a size such as 512m or 1g \(units b, k, m, g\), at least the 6m Docker needs, got "4m"$/],
    [{ memory: '6291455' }, /^memory: expected a size/],
    [{ memory: 'lots' }, /^memory: expected a size/],
    [{ memory: '512 m' }, /^memory: expected a size/],
    [{ memory: '-1' }, /^memory: expected a size/],
    // cpus
    [{ cpus: '0' }, /^cpus: expected a number of CPUs such as 0\.5 or 2 \(at least 0\.01, at most 3 decimals\), got "0"$/],
    [{ cpus: '0.001' }, /^cpus: expected/],
    [{ cpus: '-1' }, /^cpus: expected/],
    [{ cpus: '1e3' }, /^cpus: expected/],
    [{ cpus: 'half' }, /^cpus: expected/],
    // labels
    [{ labels: 'bluegreen.slot=blue' }, /^labels: line 1: bluegreen\.slot is one of the action's own labels \(bluegreen\.\*\), which say what each container is; choose another key$/],
    [{ labels: 'a=1\nBlueGreen.Service=x' }, /^labels: line 2: BlueGreen\.Service is one of the action's own labels/],
    [{ labels: 'BLUEGREEN=x' }, /^labels: line 1: BLUEGREEN is one of the action's own labels/],
    [{ labels: 'no-equals' }, /^labels: line 1 must be key=value with a key of letters, digits and \. - _ that starts with a letter, such as com\.example\.team=web \(value not shown\)$/],
    [{ labels: '=x' }, /^labels: line 1 must be key=value/],
    [{ labels: '1abc=x' }, /^labels: line 1 must be key=value/],
    [{ labels: 'a..b=x' }, /^labels: line 1 must be key=value/],
    [{ labels: 'a b=x' }, /^labels: line 1 must be key=value/],
    [{ labels: 'a.=x' }, /^labels: line 1 must be key=value/],
    [{ labels: 'a=1\na=2' }, /^labels: line 2: a is set twice$/],
    [{ labels: 'a=x\x1by' }, /^labels: line 1: the value of a has a control character \(value not shown\)$/],
    // stop-timeout and the other seconds
    [{ 'stop-timeout': '3601' }, /^stop-timeout: expected a whole number of seconds from 0 to 3600, got "3601"$/],
    [{ 'stop-timeout': '10s' }, /^stop-timeout: expected a whole number of seconds/],
    [{ 'release-timeout': '0' }, /^release-timeout: expected a whole number of seconds from 1 to 86400, got "0"$/],
    [{ 'release-timeout': '86401' }, /^release-timeout: expected/],
    [{ 'release-on-rollback': 'yes' }, /^release-on-rollback: expected true or false, got "yes"$/],
    [{ 'worker-settle': '301' }, /^worker-settle: expected a whole number of seconds from 0 to 300, got "301"$/],
    [{ 'worker-settle': '-1' }, /^worker-settle: expected/],
    // options (more in runtime-options.test.ts)
    [{ options: '--privileged' }, /^options: line 1: --privileged is refused/],
    [{ options: '--add-host db:`id`' }, /^options: line 1: --add-host expects NAME:IP/],
    [{ volumes: 'tmp:/tmp', options: '--tmpfs /tmp:size=64m' }, /^options: --tmpfs \/tmp is a path that volumes or another --tmpfs mounts already$/],
    [{ options: '--tmpfs /run\n--tmpfs /run/' }, /^options: --tmpfs \/run is a path that volumes or another --tmpfs mounts already$/],
    [{ options: '--memory-swap 1g' }, /^options: --memory-swap is memory plus swap: it needs the memory input, and at least as much \(got 1g, memory not set\)$/],
    [{ memory: '1g', options: '--memory-swap 512m' }, /^options: --memory-swap is memory plus swap/],
    // workers
    [{ workers: ': node worker.js' }, /^workers: line 1 must be NAME: command, or NAME\*N: command for N of them, with NAME in lowercase letters, digits and dashes$/],
    [{ workers: 'node worker.js' }, /^workers: line 1 must be NAME: command/],
    [{ workers: 'Mail: node mail.js' }, /^workers: line 1: the name before ":" must be lowercase letters, digits and dashes, at most 30/],
    [{ workers: '-mail: node mail.js' }, /^workers: line 1: the name before ":"/],
    [{ workers: `${'m'.repeat(31)}: node mail.js` }, /^workers: line 1: the name before ":"/],
    [{ workers: 'mail: node mail.js\nmail: node other.js' }, /^workers: line 2: the name mail is used twice; each worker needs its own$/],
    [{ workers: 'mail*0: node mail.js' }, /^workers: line 1: the count after mail\* must be a whole number from 1 to 20$/],
    [{ workers: 'mail*21: node mail.js' }, /^workers: line 1: the count after mail\*/],
    [{ workers: 'mail*: node mail.js' }, /^workers: line 1: the count after mail\*/],
    [{ workers: 'mail*two: node mail.js' }, /^workers: line 1: the count after mail\*/],
    [{ workers: 'mail:' }, /^workers: line 1: mail has no command after the ":"$/],
    [{ workers: 'mail: node mail.js && echo done' }, /^workers: line 1 \(mail\): "&" at character 20 means something only to a shell/],
    [{ workers: 'web: node server.js' }, /^workers: line 1: web is not a worker here: the app itself is the web process: its command goes in command$/],
    [{ workers: 'release: rake db:migrate' }, /^workers: line 1: release is not a worker here: a release step goes in release-command$/]
  ])('refuses %j', (overrides, message) => {
    expect(errorOf(overrides)).toMatch(message)
  })

  it.each([
    [{ volumes: 'app-data:/data\n\n# uploads\n  /srv/up:/up:rw  \r\nlogs.v2:/var/log/app:ro' }],
    [{ command: "sh -c 'exec node server.js --port \"$PORT\"'" }],
    [{ entrypoint: "''" }],
    [{ user: 'www-data' }], [{ user: 'app:staff' }], [{ user: '0' }], [{ user: '1000:4294967294' }],
    [{ memory: '6m' }], [{ memory: '6291456' }], [{ memory: '1.5g' }], [{ memory: '2G' }], [{ memory: '512MiB' }], [{ memory: '1024mb' }],
    [{ cpus: '0.01' }], [{ cpus: '.5' }], [{ cpus: '2' }], [{ cpus: '1.125' }],
    [{ labels: 'traefik.http.routers.web.rule=Host(`example.com`) && PathPrefix(`/api`)\ncom.example.empty=' }],
    [{ labels: 'constructor=x\ntoString=y' }],
    [{ 'stop-timeout': '0' }], [{ 'stop-timeout': '3600' }],
    [{ 'release-timeout': '1' }], [{ 'release-timeout': '86400' }],
    [{ 'worker-settle': '0' }], [{ 'worker-settle': '300' }],
    [{ workers: '# background\nmail : node mail.js\n\nqueue * 20: node queue.js' }],
    [{ memory: '512m', options: '--memory-swap 1g' }], [{ memory: '512m', options: '--memory-swap=-1' }]
  ])('takes %j', (overrides) => {
    expect(errorOf(overrides)).toBe('')
  })

  it('resets the entrypoint with two quotes', () => {
    expect(parse({ entrypoint: "''" }).runtime.entrypoint).toBe('')
    expect(parse({ entrypoint: '""' }).runtime.entrypoint).toBe('')
  })

  it('takes a label value as written, = and shell characters included: it is never run', () => {
    expect(parseLabels('traefik.http.routers.web.rule=Host(`a.example`) || Path(`/$x`)\nk=a=b')).toEqual({
      'traefik.http.routers.web.rule': 'Host(`a.example`) || Path(`/$x`)', k: 'a=b'
    })
  })

  it('keeps label keys that name methods of Object as plain keys', () => {
    const labels = parseLabels('constructor=x\nhasOwnProperty=y')
    expect(Object.entries(labels)).toEqual([['constructor', 'x'], ['hasOwnProperty', 'y']])
  })

  it('never quotes a label value or a command back', () => {
    expect(errorOf({ labels: 'a=1\nsecret-token-here' })).not.toContain('secret-token-here')
    expect(errorOf({ labels: 'bluegreen.x=secret-token-here' })).not.toContain('secret-token-here')
    expect(errorOf({ command: 'app --token=secret-token-here;' })).not.toContain('secret-token-here')
    expect(errorOf({ workers: 'a*x: app --token=secret-token-here' })).not.toContain('secret-token-here')
    expect(errorOf({ workers: 'app --token=secret-token-here' })).not.toContain('secret-token-here')
  })

  it('counts lines as an editor does, blank and comment lines included', () => {
    expect(parseVolumes('\n# data\ndata:/data')).toHaveLength(1)
    expect(errorOf({ volumes: '\n# data\ndata:/data\nbad' })).toMatch(/^volumes: line 4 /)
    expect(errorOf({ workers: '# a\n\nmail: x\n: y' })).toMatch(/^workers: line 4 /)
    expect(errorOf({ labels: '# a\n\nk=v\nbluegreen.x=y' })).toMatch(/^labels: line 4: /)
  })

  it('splits a worker command like command, with quotes', () => {
    expect(parseWorkers(`cron: sh -c 'while sleep 60; do ./tick; done'`)).toEqual([
      { name: 'cron', command: ['sh', '-c', 'while sleep 60; do ./tick; done'], count: 1 }
    ])
  })

  it('keeps a blank command or release-command unset', () => {
    expect(parse({ command: '  ', 'release-command': '' })).toMatchObject({ runtime: { command: undefined }, releaseCommand: undefined })
  })
})

describe('positions in workers', () => {
  it('counts characters of the line as written, indentation included', () => {
    expect(errorOf({ workers: 'a: x\n  mail: node mail.js | tee' })).toMatch(/^workers: line 2 \(mail\): "\|" at character 22 /)
  })
})
