import { readFileSync } from 'node:fs'
import { parse as parseYaml } from 'yaml'
import { ALLOWED_FLAGS, parseOption } from '../src/runtime/options.js'
import { parseOptions } from '../src/runtime/inputs.js'

const parse = (line: string) => parseOption(line, 'options: line 1')
const errorOf = (text: string): string => {
  try {
    parseOptions(text)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('options', () => {
  it('allows at least the flags of issue #16', () => {
    expect(ALLOWED_FLAGS).toEqual(expect.arrayContaining([
      '--add-host', '--cap-add', '--cap-drop', '--ulimit', '--tmpfs', '--shm-size', '--log-driver', '--log-opt',
      '--read-only', '--init', '--sysctl'
    ]))
  })

  it('names every allowed flag in the description of the options input', () => {
    const action = parseYaml(readFileSync('action.yml', 'utf8')) as { inputs: Record<string, { description: string }> }
    const named = action.inputs.options.description.match(/--[a-z-]+/g)?.filter((flag) => flag !== '--flag')
    expect(new Set(named)).toEqual(new Set(ALLOWED_FLAGS))
  })

  it.each([
    ['--add-host db:10.0.0.5', { flag: '--add-host', value: 'db:10.0.0.5' }],
    ['--add-host=db:10.0.0.5', { flag: '--add-host', value: 'db:10.0.0.5' }],
    // NAME=IP and a bracketed IPv6 address (Docker 25) become the colon form every CLI reads.
    ['--add-host db=10.0.0.5', { flag: '--add-host', value: 'db:10.0.0.5' }],
    ['--add-host db6:[2001:db8::1]', { flag: '--add-host', value: 'db6:2001:db8::1' }],
    ['--add-host host.docker.internal:host-gateway', { flag: '--add-host', value: 'host.docker.internal:host-gateway' }],
    ['--cap-add NET_BIND_SERVICE', { flag: '--cap-add', value: 'NET_BIND_SERVICE' }],
    ['--cap-add=cap_net_admin', { flag: '--cap-add', value: 'cap_net_admin' }],
    ['--cap-drop ALL', { flag: '--cap-drop', value: 'ALL' }],
    ['--ulimit nofile=1024:4096', { flag: '--ulimit', value: 'nofile=1024:4096' }],
    ['--ulimit core=-1', { flag: '--ulimit', value: 'core=-1' }],
    ['--tmpfs /tmp', { flag: '--tmpfs', value: '/tmp' }],
    ['--tmpfs /run:rw,noexec,nosuid,size=64m,mode=1777,uid=1000', { flag: '--tmpfs', value: '/run:rw,noexec,nosuid,size=64m,mode=1777,uid=1000' }],
    ['--shm-size 256m', { flag: '--shm-size', value: '256m' }],
    ['--shm-size=1GiB', { flag: '--shm-size', value: '1GiB' }],
    ['--log-driver local', { flag: '--log-driver', value: 'local' }],
    ['--log-opt max-size=10m', { flag: '--log-opt', value: 'max-size=10m' }],
    ['--log-opt tag={{.Name}}/{{.ID}}', { flag: '--log-opt', value: 'tag={{.Name}}/{{.ID}}' }],
    ['--log-opt syslog-address=udp://10.0.0.2:514', { flag: '--log-opt', value: 'syslog-address=udp://10.0.0.2:514' }],
    ['--read-only', { flag: '--read-only' }],
    ['--init', { flag: '--init' }],
    ['--sysctl net.core.somaxconn=1024', { flag: '--sysctl', value: 'net.core.somaxconn=1024' }],
    ['--sysctl net.ipv4.ip_local_port_range=1024 65000', { flag: '--sysctl', value: 'net.ipv4.ip_local_port_range=1024 65000' }],
    ['--sysctl kernel.shmmax=68719476736', { flag: '--sysctl', value: 'kernel.shmmax=68719476736' }],
    ['--pids-limit 200', { flag: '--pids-limit', value: '200' }],
    ['--security-opt no-new-privileges', { flag: '--security-opt', value: 'no-new-privileges' }],
    ['--security-opt=no-new-privileges:true', { flag: '--security-opt', value: 'no-new-privileges:true' }],
    ['--stop-signal SIGQUIT', { flag: '--stop-signal', value: 'SIGQUIT' }],
    ['--stop-signal SIGRTMIN+3', { flag: '--stop-signal', value: 'SIGRTMIN+3' }],
    ['--workdir /srv/app', { flag: '--workdir', value: '/srv/app' }],
    ['--memory-swap -1', { flag: '--memory-swap', value: '-1' }]
  ])('takes %j', (line, option) => {
    expect(parse(line)).toEqual(option)
  })

  it.each([
    ['--privileged', /^options: line 1: --privileged is refused: it gives the container every device and capability of the host/],
    ['-v /srv:/srv', /^options: line 1: -v is not taken in options: use the volumes input \(NAME:\/path or \/host\/path:\/path/],
    ['-v/srv:/srv', /^options: line 1: -v is not taken in options: use the volumes input/],
    ['--volume=/srv:/srv', /^options: line 1: --volume is not taken in options: use the volumes input/],
    ['--mount type=bind,source=/a,target=/b', /^options: line 1: --mount is not taken in options: use the volumes input/],
    ['-e SECRET=x', /^options: line 1: -e is not taken in options: use the env input/],
    ['--env SECRET=x', /^options: line 1: --env is not taken in options: use the env input/],
    ['--env-file /etc/app.env', /^options: line 1: --env-file is not taken in options: use the env input/],
    ['--label a=b', /^options: line 1: --label is not taken in options: use the labels input/],
    ['--entrypoint /bin/sh', /^options: line 1: --entrypoint is not taken in options: use the entrypoint input/],
    ['--user 1000', /^options: line 1: --user is not taken in options: use the user input/],
    ['-u 1000', /^options: line 1: -u is not taken in options: use the user input/],
    ['--memory 1g', /^options: line 1: --memory is not taken in options: use the memory input/],
    ['-m 1g', /^options: line 1: -m is not taken in options: use the memory input/],
    ['--cpus 2', /^options: line 1: --cpus is not taken in options: use the cpus input/],
    ['--stop-timeout 30', /^options: line 1: --stop-timeout is not taken in options: use the stop-timeout input/],
    ['--network host', /^options: line 1: --network is not taken in options: the action sets it \(the container joins the network input's network/],
    ['--net=host', /^options: line 1: --net is not taken in options: the action sets it/],
    ['--name web', /^options: line 1: --name is not taken in options: the action sets it \(containers are named <service>-blue and <service>-green\)/],
    ['-p 80:80', /^options: line 1: -p is not taken in options: the action sets it \(the proxy publishes proxy-port/],
    ['--publish 80:80', /^options: line 1: --publish is not taken in options: the action sets it/],
    ['--restart always', /^options: line 1: --restart is not taken in options: the action sets it \(the live slot gets unless-stopped/],
    ['--rm', /^options: line 1: --rm is not taken in options: the action sets it/],
    ['--device /dev/sda', /^options: line 1: --device is not one of the flags options allows \(--add-host, --cap-add, .*\); see the README, Runtime$/],
    ['--pid host', /^options: line 1: --pid is not one of the flags options allows/],
    ['--security-opt seccomp=unconfined', /^options: line 1: --security-opt expects no-new-privileges .*, got "seccomp=unconfined"$/],
    ['--cap-add ALL', /^options: line 1: --cap-add expects a capability name .*not ALL: that is --privileged in all but name/],
    ['--cap-add cap_all', /^options: line 1: --cap-add expects a capability name/],
    ['--add-host db:$(touch /tmp/x)', /^options: line 1: --add-host expects NAME:IP such as db:10.0.0.5 or db:host-gateway, got "db:\$\(touch \/tmp\/x\)"$/],
    ['--add-host db:10.0.0.500', /^options: line 1: --add-host expects NAME:IP/],
    ['--add-host db', /^options: line 1: --add-host expects NAME:IP/],
    ['--ulimit nofile=1024;id', /^options: line 1: --ulimit expects NAME=SOFT\[:HARD\]/],
    ['--ulimit files=1024', /^options: line 1: --ulimit expects NAME=SOFT\[:HARD\]/],
    ['--tmpfs tmp', /^options: line 1: --tmpfs expects \/PATH\[:OPTIONS\]/],
    ['--tmpfs /tmp:size=64m,exec;id', /^options: line 1: --tmpfs expects/],
    ['--tmpfs /tmp:uid=$(id)', /^options: line 1: --tmpfs expects/],
    ['--shm-size lots', /^options: line 1: --shm-size expects a size such as 256m or 1g/],
    ['--shm-size 0', /^options: line 1: --shm-size expects a size/],
    ['--log-driver "local"', /^options: line 1: --log-driver expects a logging driver name/],
    ['--log-opt tag=`id`', /^options: line 1: --log-opt expects KEY=VALUE/],
    ['--log-opt tag="{{.Name}}"', /^options: line 1: --log-opt expects KEY=VALUE/],
    ['--log-opt max-size=10m; reboot', /^options: line 1: --log-opt expects KEY=VALUE/],
    ['--sysctl vm.swappiness=1', /^options: line 1: --sysctl expects KEY=VALUE with a net\.\*/],
    ['--sysctl net.core.somaxconn=$(id)', /^options: line 1: --sysctl expects/],
    ['--sysctl net.core.somaxconn', /^options: line 1: --sysctl expects/],
    ['--pids-limit 0', /^options: line 1: --pids-limit expects a whole number/],
    ['--stop-signal SIG TERM', /^options: line 1: --stop-signal expects a signal name/],
    ['--workdir app', /^options: line 1: --workdir expects an absolute path/],
    ['--memory-swap -2', /^options: line 1: --memory-swap expects a size/],
    ['--init=true', /^options: line 1: --init takes no value$/],
    ['--read-only yes', /^options: line 1: --read-only takes no value$/],
    ['--ulimit', /^options: line 1: --ulimit needs a value: NAME=SOFT\[:HARD\]/],
    ['--ulimit=', /^options: line 1: --ulimit needs a value/],
    ['--ulimit:nofile=1', /^options: line 1 must be --ulimit VALUE or --ulimit=VALUE, got "--ulimit:nofile=1"$/],
    ['init', /^options: line 1 must be one docker run flag such as --init or --ulimit nofile=1024:4096, got "init"$/],
    ['; reboot', /^options: line 1 must be one docker run flag/]
  ])('refuses %j', (line, message) => {
    expect(errorOf(line)).toMatch(message)
  })

  it('reads one flag a line, skipping blank lines and comments, and counts lines as an editor does', () => {
    expect(parseOptions('# limits\n--init\n\n  --ulimit nofile=1024  \r\n--cap-add NET_ADMIN\n--cap-add SYS_TIME')).toEqual([
      { flag: '--init' }, { flag: '--ulimit', value: 'nofile=1024' },
      { flag: '--cap-add', value: 'NET_ADMIN' }, { flag: '--cap-add', value: 'SYS_TIME' }
    ])
    expect(errorOf('# limits\n--init\n\n--privileged')).toMatch(/^options: line 4: --privileged is refused/)
  })

  it('refuses a one-value flag given twice; repeatable ones add up', () => {
    expect(errorOf('--shm-size 64m\n--init\n--shm-size 128m')).toBe('options: line 3: --shm-size is given more than once; it takes one value')
    expect(errorOf('--init\n--init')).toBe('options: line 2: --init is given more than once; it takes one value')
    expect(errorOf('--log-opt max-size=10m\n--log-opt max-file=3')).toBe('')
  })

  it('never quotes a --log-opt value back: it may carry a token', () => {
    expect(errorOf('--log-opt splunk-token=s3cr3t token')).toBe(
      'options: line 1: --log-opt expects KEY=VALUE such as max-size=10m (value: letters, digits and . _ : / @ % + , = ~ { } -) (value not shown)'
    )
  })

  it('shortens a long value in its message', () => {
    const message = errorOf(`--add-host ${'x'.repeat(500)}`)
    expect(message.length).toBeLessThan(300)
    expect(message).toMatch(/\.\.\."$/)
  })
})
