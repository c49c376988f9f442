import { commandWords, lineSafe, mountFlag, runFlags } from '../src/runtime/docker-args.js'
import { parseCommand, parseRuntime, parseWorkers } from '../src/runtime/inputs.js'
import { ALLOWED } from '../src/runtime/options.js'
import type { RuntimeSpec } from '../src/runtime/spec.js'

const EMPTY: RuntimeSpec = { volumes: [], labels: {}, options: [] }
const runtime = (raw: Record<string, string>): RuntimeSpec => parseRuntime((name) => raw[name] ?? '')

describe('runFlags', () => {
  it('adds nothing for the defaults: the image runs as it was built', () => {
    expect(runFlags(EMPTY)).toEqual([])
    expect(commandWords(undefined)).toEqual([])
  })

  it('turns every runtime input into --flag=value words, in a fixed order', () => {
    const spec = runtime({
      volumes: 'data:/var/lib/app\n/srv/uploads:/app/uploads:ro',
      entrypoint: '/sbin/tini',
      user: '1000:1000',
      memory: '512m',
      cpus: '0.5',
      labels: 'com.example.team=web\ntraefik.http.routers.web.rule=Host(`a.example`)',
      'stop-timeout': '30',
      options: '--init\n--ulimit nofile=4096\n--add-host db=10.0.0.5\n--sysctl net.ipv4.ip_local_port_range=1024 65000'
    })
    expect(runFlags(spec)).toEqual([
      '--mount=type=volume,source=data,target=/var/lib/app',
      '--mount=type=bind,source=/srv/uploads,target=/app/uploads,readonly',
      '--user=1000:1000',
      '--memory=512m',
      '--cpus=0.5',
      '--label=com.example.team=web',
      '--label=traefik.http.routers.web.rule=Host(`a.example`)',
      '--stop-timeout=30',
      '--entrypoint=/sbin/tini',
      '--init',
      '--ulimit=nofile=4096',
      '--add-host=db:10.0.0.5',
      '--sysctl=net.ipv4.ip_local_port_range=1024 65000'
    ])
  })

  it('resets the entrypoint with an empty value, and keeps a stop timeout of 0', () => {
    expect(runFlags({ ...EMPTY, entrypoint: '', stopTimeout: 0 })).toEqual(['--stop-timeout=0', '--entrypoint='])
  })

  it('binds with --mount, which refuses a missing host folder instead of creating an empty one', () => {
    expect(mountFlag({ kind: 'bind', source: '/srv/data', target: '/data', readOnly: false })).toBe('--mount=type=bind,source=/srv/data,target=/data')
    expect(mountFlag({ kind: 'volume', source: 'data', target: '/data', readOnly: true })).toBe('--mount=type=volume,source=data,target=/data,readonly')
  })

  it('keeps a value that starts with a dash in its flag word, never as a word of its own', () => {
    const flags = runFlags({ ...EMPTY, entrypoint: '--privileged', labels: { note: '--privileged' } })
    expect(flags).toEqual(['--label=note=--privileged', '--entrypoint=--privileged'])
  })
})

describe('commandWords', () => {
  it('passes the command as it was split, quotes gone, shell characters as text', () => {
    expect(commandWords(parseCommand('command', `sh -c 'exec app --port "$PORT"; echo done' ''`))).toEqual([
      'sh', '-c', 'exec app --port "$PORT"; echo done', ''
    ])
  })

  it('serves the release command and each worker the same way', () => {
    const [worker] = parseWorkers("queue*2: node queue.js --name 'a b'")
    expect(commandWords(worker.command)).toEqual(['node', 'queue.js', '--name', 'a b'])
  })
})

describe('one word per line', () => {
  it('produces no word with a line break or NUL, from the widest inputs validation takes', () => {
    const spec = runtime({
      volumes: 'data:/data\r\n/srv/x:/x:ro\n',
      command: 'node \\\n  app.js "a\tb" \'c\\d\' \\\r\n --x',
      entrypoint: "''",
      user: 'app:staff',
      memory: '512m',
      cpus: '.5',
      labels: 'a=\t x \nb=\r\nc=é',
      'stop-timeout': '0',
      options: Object.values(ALLOWED).map((allowed) => allowed.example).join('\r\n')
    })
    const words = [...runFlags(spec), ...commandWords(spec.command)]
    expect(words.length).toBeGreaterThan(20)
    for (const word of words) expect(word).not.toMatch(/[\n\r\0]/)
    expect(commandWords(spec.command)).toEqual(['node', 'app.js', 'a\tb', 'c\\d', '--x'])
  })

  it('refuses a word that would split in two, should validation ever let one through', () => {
    expect(() => runFlags({ ...EMPTY, labels: { a: 'x\ny' } })).toThrow(/line break or NUL/)
    expect(() => commandWords(['a\0b'])).toThrow(/line break or NUL/)
    expect(() => runFlags({ ...EMPTY, volumes: [{ kind: 'bind', source: '/a\r', target: '/b', readOnly: false }] })).toThrow(/line break or NUL/)
    expect(lineSafe(['a b', '\t'])).toEqual(['a b', '\t'])
  })
})

describe('options examples', () => {
  it.each(Object.entries(ALLOWED))('%s: its README example passes', (flag, allowed) => {
    const spec = runtime({ memory: '512m', options: allowed.example })
    expect(spec.options.map((o) => o.flag)).toEqual([flag])
  })
})
