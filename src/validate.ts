import type { Inputs } from './inputs.js'
import { parseImageRef } from './image/ref.js'
import { MAX_SWARM_REPLICAS, validateSwarm } from './validate-swarm.js'

/** Every input but the HTTPS ones, which tls/inputs.ts checks once these passed. */
type Checked = Omit<Inputs, 'tls'>

// Every value that reaches the host is checked here first: anything that could carry shell
// syntax is refused by its shape, and each message names the input and the form it expects.

// A host name (an IPv4 address is one too), or an IPv6 address, which always has a colon: without
// it, any run of hex letters ("aaaa...", of any length) passed as an address.
/** A host name or an IP address (IPv6 with a colon, optionally in brackets). */
export const HOST_FORM = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f:.]*\]?)$/
const USERNAME = /^[a-z_][a-z0-9_.-]{0,31}$/
/** As ssh-keygen -lf prints it; inputs.ts has taken off any padding. */
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/
const SERVICE = /^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/
const NETWORK = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,49}$/
const HEALTH_PATH = /^\/[A-Za-z0-9._~%/+=,:@&?-]*$/
/**
 * Docker's own networks. The proxy finds each slot by container name, which only a user-defined
 * network resolves: on `bridge` (`default` is its other name) names do not resolve, on `host` and
 * `none` a container has no network of its own to join or publish a port from.
 */
const DOCKER_NETWORKS = ['bridge', 'default', 'host', 'none']
const SERVER_NAME = /^(?:\*\.)?[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/

export function validateInputs(inputs: Checked): void {
  check(['host', 'swarm'].includes(inputs.target), `target: expected host or swarm, got "${inputs.target}"`)
  validateConnection(inputs)
  validateSwarm(inputs)
  validateImage(inputs)
  validateRouting(inputs)
  validateTiming(inputs)
  validateTransfer(inputs)
  validateTraffic(inputs)
}

function validateConnection(inputs: Checked): void {
  if (inputs.target === 'swarm') {
    // A Swarm is reached through a manager; hosts, when given, are the nodes' SSH addresses.
    check(inputs.host !== '', 'host: required with target: swarm (a manager of the Swarm)')
    check(HOST_FORM.test(inputs.host), `host: expected a host name or IP address, got "${inputs.host}"`)
  } else if (inputs.hosts.length > 0) {
    check(inputs.host === '', 'host and hosts: give one of them (hosts lists every server, one per line)')
  } else {
    check(inputs.host !== '', 'host: required (the server name or IP address), or hosts for several servers')
    check(HOST_FORM.test(inputs.host), `host: expected a host name or IP address, got "${inputs.host}"`)
  }
  checkRange('canary-hosts', inputs.canaryHosts, 0, Math.max(inputs.hosts.length, 1))
  checkRange('batch-size', inputs.batchSize, 0, 1000)
  // A host runs a slot's replicas side by side; a Swarm spreads its tasks over the nodes.
  checkRange('replicas', inputs.replicas, 1, inputs.target === 'swarm' ? MAX_SWARM_REPLICAS : 20)
  checkRange('keep-releases', inputs.keepReleases, 1, 50)
  check(['stopped', 'running'].includes(inputs.keepPrevious), `keep-previous: expected stopped or running, got "${inputs.keepPrevious}"`)
  checkPort('port', inputs.port)
  check(
    USERNAME.test(inputs.username),
    `username: expected a Unix user name such as deploy, got "${inputs.username}"`
  )
  check(inputs.key !== '', 'key: required (the private key text, e.g. ${{ secrets.SSH_KEY }})')
  check(
    /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(inputs.key),
    'key: expected a private key in OpenSSH or PEM form (-----BEGIN ... PRIVATE KEY-----)'
  )
  for (const fingerprint of inputs.fingerprints) {
    check(
      FINGERPRINT.test(fingerprint),
      `fingerprint: expected the SHA256:... form that ssh-keygen -lf prints, got "${fingerprint}"`
    )
  }
  checkRange('timeout', inputs.timeout, 1, 600)
}

function validateImage(inputs: Checked): void {
  if (inputs.image !== '' || (!inputs.rollback && inputs.maintenance === undefined)) {
    check(inputs.image !== '', 'image: required (name:tag or name@sha256:...)')
    const ref = parseImageRef(inputs.image)
    check(
      ref !== undefined && (ref.tag !== undefined || ref.digest !== undefined),
      `image: expected name:tag or name@sha256:<64 hex digits>, got "${inputs.image}"`
    )
  }
  // A rolling update names a service of the user's own, such as a stack's mystack_web.
  if (inputs.target !== 'swarm' || inputs.swarmUpdate !== 'rolling') {
    check(
      SERVICE.test(inputs.service),
      `service: expected lowercase letters, digits and dashes (at most 50), got "${inputs.service}"`
    )
  }
  if (inputs.appPort !== undefined) checkPort('app-port', inputs.appPort)
}

function validateRouting(inputs: Checked): void {
  check(
    HEALTH_PATH.test(inputs.healthPath),
    `health-path: expected a URL path starting with / without spaces or quotes, got "${inputs.healthPath}"`
  )
  checkPort('proxy-port', inputs.proxyPort)
  check(
    parseImageRef(inputs.proxyImage) !== undefined,
    `proxy-image: expected an image reference such as nginx:alpine, got "${inputs.proxyImage}"`
  )
  check(
    NETWORK.test(inputs.network),
    `network: expected letters, digits, _ . - (at most 50), got "${inputs.network}"`
  )
  check(
    !DOCKER_NETWORKS.includes(inputs.network),
    `network: "${inputs.network}" is one of Docker's own networks, where the proxy cannot reach the app ` +
      'containers by name; give a name of your own (default bluegreen): the action creates that network'
  )
  for (const name of inputs.serverNames) {
    check(
      SERVER_NAME.test(name),
      `server-name: expected host names such as app.example.com or *.example.com, got "${name}"`
    )
  }
}

function validateTiming(inputs: Checked): void {
  checkRange('health-timeout', inputs.healthTimeout, 1, 3600)
  checkRange('drain-timeout', inputs.drainTimeout, 0, 3600)
  checkRange('websocket-timeout', inputs.websocketTimeout, 1, 86400)
  checkRange('lock-timeout', inputs.lockTimeout, 0, 86400)
}

function validateTransfer(inputs: Checked): void {
  check(
    ['auto', 'zstd', 'gzip', 'none'].includes(inputs.compression),
    `compression: expected auto, zstd, gzip or none, got "${inputs.compression}"`
  )
  check(['auto', 'docker-save'].includes(inputs.layerSource), `layer-source: expected auto or docker-save, got "${inputs.layerSource}"`)
  if (inputs.compressionLevel === undefined) return
  const max = inputs.compression === 'gzip' ? 9 : 19
  checkRange('compression-level', inputs.compressionLevel, 1, max)
}

function validateTraffic(inputs: Checked): void {
  if (inputs.maintenance !== undefined) {
    check(
      inputs.image === '' && !inputs.rollback,
      'maintenance: give it in a step of its own, without image or rollback (a deploy leaves maintenance as it is)'
    )
  }
  check(inputs.maintenancePage === '' || inputs.maintenance === 'on', 'maintenance-page: only with maintenance: on')
  checkRange('canary', inputs.canary, 0, 99)
  checkRange('canary-min-requests', inputs.canaryMinRequests, 0, 1_000_000)
}

function checkPort(name: string, value: number): void {
  checkRange(name, value, 1, 65535)
}

function checkRange(name: string, value: number, min: number, max: number): void {
  check(
    Number.isInteger(value) && value >= min && value <= max,
    `${name}: expected a whole number from ${min} to ${max}, got ${value}`
  )
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message)
}
