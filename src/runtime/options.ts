// The `options` input: extra `docker run` flags, one per line, from an allowlist. Each flag here
// changes only the app's own container (its limits, logs, kernel view), never how the action
// names, networks, publishes, restarts or removes it, and none hands the container the host.
// Values are checked by conservative patterns and taken as written: no quotes, no shell.
import { isIP } from 'node:net'
import { parseBytes } from './sizes.js'

export interface RunOption {
  /** The long flag, as docker run spells it: --ulimit. */
  flag: string
  /** Undefined for a flag that takes no value (--init). */
  value?: string
}

interface Allowed {
  /** What it is for (the README's table). */
  purpose: string
  /** A line of options that uses it (the README's table; tests check each passes). */
  example: string
  /** The form of its value, for messages and the README; undefined: it takes none. */
  form?: string
  /** A problem with the value, or undefined when it is good. */
  check?: (value: string) => string | undefined
  /** The spelling passed to docker, when it differs from what the user wrote. */
  normalize?: (value: string) => string
  /** May be given on several lines (each adds one). */
  repeatable?: boolean
  /** Its value may carry a token (splunk-token, a loki-url with a password): never quoted back. */
  quiet?: boolean
}

const CAPABILITY = /^(?:CAP_)?[A-Z][A-Z_]{1,30}$/i
const ULIMITS = 'core|cpu|data|fsize|locks|memlock|msgqueue|nice|nofile|nproc|rss|rtprio|rttime|sigpending|stack'
const ULIMIT = new RegExp(`^(?:${ULIMITS})=(?:-1|\\d{1,19})(?::(?:-1|\\d{1,19}))?$`)
const HOST_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/
/** An absolute path of plain characters: no spaces, quotes, commas (Docker's mount lists) or colons. */
export const ABSOLUTE_PATH = /^(?:\/[A-Za-z0-9._@+%~-]+)+\/?$/
const TMPFS_OPTION = /^(?:rw|ro|exec|noexec|suid|nosuid|dev|nodev|size=\d{1,15}[kmg%]?|nr_inodes=\d{1,15}[kmg]?|mode=[0-7]{3,4}|uid=\d{1,10}|gid=\d{1,10})$/
const LOG_DRIVER = /^[a-z0-9][a-z0-9_.-]{0,63}$/
/** Logging options: max-size=10m, tag={{.Name}}, syslog-address=udp://10.0.0.2:514. */
const LOG_OPT = /^[a-z0-9][a-z0-9_.-]{0,63}=[A-Za-z0-9._:/@%+,=~{}-]{0,1024}$/
// Only the sysctls Docker lets a container set (namespaced ones): net.*, IPC's kernel.* and fs.mqueue.*.
const SYSCTL_KEY = /^(?:net\.[a-z0-9_.-]{1,200}|kernel\.(?:msgmax|msgmnb|msgmni|sem|shmall|shmmax|shmmni|shm_rmid_forced)|fs\.mqueue\.[a-z0-9_]{1,64})$/
const SYSCTL_VALUE = /^[A-Za-z0-9._:,/-]{1,64}(?: [A-Za-z0-9._:,/-]{1,64}){0,7}$/
const SIGNAL = /^(?:(?:SIG)?[A-Z]{2,8}[0-9]?(?:[+-]\d{1,2})?|\d{1,2})$/i

const problem = (ok: boolean, form: string): string | undefined => (ok ? undefined : `expects ${form}`)

function checkAddHost(value: string): string | undefined {
  const [name, address] = splitAddHost(value)
  const good = HOST_NAME.test(name) && (address === 'host-gateway' || isIP(address) !== 0)
  return problem(good, ALLOWED['--add-host'].form!)
}

/** NAME:IP or NAME=IP (Docker 25 and later); an IPv6 address may come in brackets. */
function splitAddHost(value: string): [string, string] {
  const at = value.search(/[:=]/)
  if (at < 0) return [value, '']
  return [value.slice(0, at), value.slice(at + 1).replace(/^\[(.*)\]$/, '$1')]
}

function checkTmpfs(value: string): string | undefined {
  const [path, options] = splitOnce(value, ':')
  const good = ABSOLUTE_PATH.test(path) && (options === undefined || options.split(',').every((o) => TMPFS_OPTION.test(o)))
  return problem(good, ALLOWED['--tmpfs'].form!)
}

function checkSize(form: string, allowMinusOne = false) {
  return (value: string): string | undefined => {
    if (allowMinusOne && value === '-1') return undefined
    const bytes = parseBytes(value)
    return problem(bytes !== undefined && bytes > 0, form)
  }
}

function checkSysctl(value: string): string | undefined {
  const [key, setting] = splitOnce(value, '=')
  return problem(SYSCTL_KEY.test(key) && setting !== undefined && SYSCTL_VALUE.test(setting), ALLOWED['--sysctl'].form!)
}

function splitOnce(text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator)
  return at < 0 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)]
}

/** The flags `options` takes, with what each is for. */
export const ALLOWED: Record<string, Allowed> = {
  '--add-host': {
    purpose: 'an /etc/hosts line, e.g. for a database outside Docker (host-gateway: the host itself)',
    example: '--add-host db:10.0.0.5',
    form: 'NAME:IP such as db:10.0.0.5 or db:host-gateway',
    check: checkAddHost,
    // The colon form: the docker CLI on the host may predate NAME=IP (Docker 25).
    normalize: (value) => splitAddHost(value).join(':'),
    repeatable: true
  },
  '--cap-add': {
    purpose: 'a Linux capability the app needs, such as NET_BIND_SERVICE',
    example: '--cap-add NET_BIND_SERVICE',
    form: 'a capability name such as NET_BIND_SERVICE (not ALL: that is --privileged in all but name)',
    check: (value) => problem(CAPABILITY.test(value) && !/^(?:CAP_)?ALL$/i.test(value), ALLOWED['--cap-add'].form!),
    repeatable: true
  },
  '--cap-drop': {
    purpose: 'a capability to take away (ALL, then --cap-add what the app needs)',
    example: '--cap-drop ALL',
    form: 'a capability name such as NET_RAW, or ALL',
    check: (value) => problem(CAPABILITY.test(value), ALLOWED['--cap-drop'].form!),
    repeatable: true
  },
  '--ulimit': {
    purpose: 'a resource limit such as open files (nofile) or processes (nproc)',
    example: '--ulimit nofile=65536:65536',
    form: `NAME=SOFT[:HARD] such as nofile=1024:4096, with NAME one of ${ULIMITS.replace(/\|/g, ', ')}`,
    check: (value) => problem(ULIMIT.test(value), ALLOWED['--ulimit'].form!),
    repeatable: true
  },
  '--tmpfs': {
    purpose: 'a memory-backed scratch folder, e.g. /tmp with --read-only',
    example: '--tmpfs /tmp:rw,noexec,size=64m',
    form: '/PATH[:OPTIONS] such as /tmp:rw,noexec,size=64m (options: rw, ro, exec, noexec, suid, nosuid, dev, nodev, size, nr_inodes, mode, uid, gid)',
    check: checkTmpfs,
    repeatable: true
  },
  '--shm-size': {
    purpose: 'the size of /dev/shm (Docker gives 64m), for browsers and databases',
    example: '--shm-size 256m',
    form: 'a size such as 256m or 1g',
    check: checkSize('a size such as 256m or 1g')
  },
  '--log-driver': {
    purpose: "where the container's output goes (json-file, local, journald, syslog, ...)",
    example: '--log-driver local',
    form: 'a logging driver name such as local or journald',
    check: (value) => problem(LOG_DRIVER.test(value), ALLOWED['--log-driver'].form!)
  },
  '--log-opt': {
    purpose: "an option of the logging driver, such as max-size=10m",
    example: '--log-opt max-size=10m',
    form: 'KEY=VALUE such as max-size=10m (value: letters, digits and . _ : / @ % + , = ~ { } -)',
    check: (value) => problem(LOG_OPT.test(value), ALLOWED['--log-opt'].form!),
    repeatable: true,
    quiet: true
  },
  '--read-only': { purpose: 'a read-only root filesystem (the app writes to volumes or --tmpfs only)', example: '--read-only' },
  '--init': { purpose: 'a tiny init as PID 1 that forwards signals and reaps zombie processes', example: '--init' },
  '--sysctl': {
    purpose: "a namespaced kernel setting such as net.core.somaxconn",
    example: '--sysctl net.core.somaxconn=1024',
    form: 'KEY=VALUE with a net.*, kernel.msg*/sem/shm* or fs.mqueue.* key, such as net.core.somaxconn=1024',
    check: checkSysctl,
    repeatable: true
  },
  // Added: a cap on processes stops a fork bomb or a thread leak from taking the host down.
  '--pids-limit': {
    purpose: 'the most processes and threads the container may run',
    example: '--pids-limit 200',
    form: 'a whole number such as 200 (-1: no limit)',
    check: (value) => problem(/^(?:-1|[1-9]\d{0,9})$/.test(value), ALLOWED['--pids-limit'].form!)
  },
  // Added, with this one value only: it hardens (setuid binaries gain nothing); the other
  // security options (seccomp=unconfined, apparmor=unconfined, label=disable) weaken the container.
  '--security-opt': {
    purpose: 'only no-new-privileges: processes cannot gain privileges (setuid, file capabilities)',
    example: '--security-opt no-new-privileges',
    form: 'no-new-privileges (or no-new-privileges:true); other security options are not allowed',
    check: (value) => problem(/^no-new-privileges(?::true)?$/.test(value), ALLOWED['--security-opt'].form!)
  },
  // Added: apps that shut down gracefully on another signal (nginx: SIGQUIT), so the old slot's
  // stop at retire is the clean one.
  '--stop-signal': {
    purpose: 'the signal that asks the app to stop (Docker sends SIGTERM), such as SIGQUIT',
    example: '--stop-signal SIGQUIT',
    form: 'a signal name or number such as SIGQUIT or 3',
    check: (value) => problem(SIGNAL.test(value), ALLOWED['--stop-signal'].form!)
  },
  // Added: often needed with command, to run it where the app's files are.
  '--workdir': {
    purpose: "the folder the command starts in, instead of the image's WORKDIR",
    example: '--workdir /app',
    form: 'an absolute path such as /app',
    check: (value) => problem(ABSOLUTE_PATH.test(value), ALLOWED['--workdir'].form!)
  },
  // Added: the partner of memory (by default Docker lets the container swap as much again).
  '--memory-swap': {
    purpose: 'memory plus swap the container may use (-1: unlimited; equal to memory: no swap)',
    example: '--memory-swap 1g',
    form: 'a size such as 1g, at least memory, or -1',
    check: checkSize('a size such as 1g, or -1', true)
  }
}

// Flags that have an input of their own, or that the action sets itself: the message says which.
const INPUT_FOR = (input: string, form: string): string => `is not taken in options: use the ${input} input (${form})`
const THE_ACTIONS = (what: string): string => `is not taken in options: the action sets it (${what})`
const ELSEWHERE: Record<string, string> = {
  '-v': INPUT_FOR('volumes', 'NAME:/path or /host/path:/path, one per line'),
  '--volume': INPUT_FOR('volumes', 'NAME:/path or /host/path:/path, one per line'),
  '--mount': INPUT_FOR('volumes', 'NAME:/path or /host/path:/path, one per line'),
  '-e': INPUT_FOR('env', 'KEY=VALUE lines, which travel on stdin, never on a command line'),
  '--env': INPUT_FOR('env', 'KEY=VALUE lines, which travel on stdin, never on a command line'),
  '--env-file': INPUT_FOR('env', 'KEY=VALUE lines, which travel on stdin, never on a command line'),
  '-l': INPUT_FOR('labels', 'key=value, one per line'),
  '--label': INPUT_FOR('labels', 'key=value, one per line'),
  '--label-file': INPUT_FOR('labels', 'key=value, one per line'),
  '--entrypoint': INPUT_FOR('entrypoint', 'one word'),
  '-u': INPUT_FOR('user', 'name or uid, optionally :group'),
  '--user': INPUT_FOR('user', 'name or uid, optionally :group'),
  '-m': INPUT_FOR('memory', 'such as 512m'),
  '--memory': INPUT_FOR('memory', 'such as 512m'),
  '--cpus': INPUT_FOR('cpus', 'such as 0.5'),
  '--stop-timeout': INPUT_FOR('stop-timeout', 'seconds'),
  '--network': THE_ACTIONS("the container joins the network input's network, where the proxy reaches it"),
  '--net': THE_ACTIONS("the container joins the network input's network, where the proxy reaches it"),
  '--network-alias': THE_ACTIONS('the proxy reaches each slot by its container name'),
  '--ip': THE_ACTIONS('each slot gets its pinned address on the network'),
  '--name': THE_ACTIONS('containers are named <service>-blue and <service>-green'),
  '-p': THE_ACTIONS('the proxy publishes proxy-port and reaches the app over the network on app-port'),
  '--publish': THE_ACTIONS('the proxy publishes proxy-port and reaches the app over the network on app-port'),
  '-P': THE_ACTIONS('the proxy publishes proxy-port and reaches the app over the network on app-port'),
  '--publish-all': THE_ACTIONS('the proxy publishes proxy-port and reaches the app over the network on app-port'),
  '--restart': THE_ACTIONS('the live slot gets unless-stopped, a candidate none, so a crash at boot is seen'),
  '--rm': THE_ACTIONS('old slots are removed once drained, and a failed candidate once its logs are read'),
  '-d': THE_ACTIONS('the container always runs detached'),
  '--detach': THE_ACTIONS('the container always runs detached'),
  '--privileged': 'is refused: it gives the container every device and capability of the host, ' +
    'with no seccomp or AppArmor profile; use --cap-add for the one capability the app needs'
}

/** The long flags allowed, in the README's order. */
export const ALLOWED_FLAGS = Object.keys(ALLOWED)

/** Parses one line of `options` (`--flag value`, `--flag=value` or `--flag`); throws naming `where`. */
export function parseOption(line: string, where: string): RunOption {
  const flag = /^-{1,2}[A-Za-z0-9][A-Za-z0-9-]*/.exec(line)?.[0]
  if (flag === undefined) {
    throw new Error(`${where} must be one docker run flag such as --init or --ulimit nofile=1024:4096, got "${shown(line)}"`)
  }
  if (ELSEWHERE[flag]) throw new Error(`${where}: ${flag} ${ELSEWHERE[flag]}`)
  const allowed = ALLOWED[flag]
  if (!allowed) {
    throw new Error(`${where}: ${flag} is not one of the flags options allows (${ALLOWED_FLAGS.join(', ')}); see the README, Runtime`)
  }
  return { flag, value: optionValue(flag, line.slice(flag.length), allowed, where) }
}

function optionValue(flag: string, rest: string, allowed: Allowed, where: string): string | undefined {
  if (rest !== '' && !/^[=\s]/.test(rest)) {
    throw new Error(`${where} must be ${flag} VALUE or ${flag}=VALUE, got "${shown(flag + rest)}"`)
  }
  const value = rest.replace(/^(?:=|\s+)/, '').trim()
  if (allowed.form === undefined) {
    if (rest !== '') throw new Error(`${where}: ${flag} takes no value`)
    return undefined
  }
  if (value === '') throw new Error(`${where}: ${flag} needs a value: ${allowed.form}`)
  const bad = allowed.check?.(value)
  if (bad) throw new Error(`${where}: ${flag} ${bad}${allowed.quiet ? ' (value not shown)' : `, got "${shown(value)}"`}`)
  return allowed.normalize ? allowed.normalize(value) : value
}

/** Checks across lines: a flag that takes one value given twice. */
export function checkRepeats(options: RunOption[], lines: number[]): void {
  const seen = new Set<string>()
  options.forEach((option, index) => {
    if (seen.has(option.flag) && !ALLOWED[option.flag].repeatable) {
      throw new Error(`options: line ${lines[index]}: ${option.flag} is given more than once; it takes one value`)
    }
    seen.add(option.flag)
  })
}

/** A value as it may appear in a message: options are no secrets, but a line may be long. */
export function shown(text: string): string {
  const plain = text.replace(/[\x00-\x1f\x7f]/g, '?')
  return plain.length > 80 ? `${plain.slice(0, 77)}...` : plain
}
