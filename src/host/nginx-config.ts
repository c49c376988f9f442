import { createHash } from 'node:crypto'
import { HSTS_MAX_AGE } from '../tls/policy.js'
import { acmeLocation, certificateMap, proxyCertPath, sslDirectives } from '../tls/nginx.js'
import type { Slot } from './paths.js'

// The proxy's config for one service holds BOTH slots, and a symlink on the host picks the live
// one per request: `if (-f .../bluegreen/<service>/green)` follows the symlink in one stat(), so
// a switch is an atomic rename of that symlink, with no nginx reload. A reload would make the
// old workers close their idle keep-alive connections, and a client that sends its next request
// on one of them at that moment gets a reset. The config itself changes (and nginx reloads) only
// when its shape does: a service's first deploy, new server names, a new app port or timeout.

/** What a slot of a service routes to: the release in it and where the proxy reaches it. */
export interface Route {
  service: string
  slot: Slot
  container: string
  appPort: number
  image: string
  imageId: string
  /** Empty: the default server, answering any host name. */
  serverNames: string[]
  /**
   * `ip:port` of each container, on a network whose addresses the action pins (no DNS at request
   * time), or `name:port` on a network it did not create (resolved through Docker's DNS).
   */
  targets?: string[]
  /** The path its health was checked on: what a switch back to it asks again. */
  healthPath?: string
}

/** How a slot is reached, for the config; a slot without one is never routed to. */
export interface SlotUpstream {
  slot: Slot
  targets: string[]
}

/** HTTPS for a service: the same server block listens on 443 too, with its certificate. */
export interface ServiceTls {
  /** The host port clients reach HTTPS on, for the redirect from HTTP. */
  httpsPort: number
  /** Strict-Transport-Security on HTTPS answers. */
  hsts: boolean
}

export interface ServiceConf {
  service: string
  serverNames: string[]
  /** Seconds an upgraded (WebSocket) connection may stay idle. */
  websocketTimeout: number
  /** Log each request to the proxy's stdout (docker logs). */
  accessLog: boolean
  slots: SlotUpstream[]
  tls?: ServiceTls
}

/** Where the proxy container sees the live-slot symlinks (the host's conf.d/bluegreen). */
export const MARKER_DIR = '/etc/nginx/conf.d/bluegreen'
const SERVICE_MARK = '# bluegreen-service '
const LEGACY_MARK = '# bluegreen-route '
/** Marks a config that serves HTTPS (write-route.sh ends the renewal of one that no longer does). */
export const TLS_MARK = '# bluegreen-tls'

/**
 * While this file exists in the proxy container, its answers close their connection: the closing
 * window before a reload (lib-proxy-reload.sh).
 */
export const CLOSING_FLAG = '/tmp/bluegreen-closing'

/** Shared by every service on a proxy: websocket upgrades pass through. */
export const COMMON_CONFIG = `# Written by the bluegreen deploy action.
map $http_upgrade $bluegreen_connection {
    default upgrade;
    ''      close;
}
# A client's canary bucket, 00 to 99: from the cookie the proxy gave it, or on its first request
# two decimal digits of the request's random ID (uniform: every hex digit that is 0-9 is equally
# likely), so the split is sticky per client and a cookie cannot name anything but a bucket.
map $request_id $bluegreen_new_bucket {
    "~^[a-f]*([0-9])[a-f]*([0-9])" $1$2;
    default 00;
}
map $cookie_bluegreen_bucket $bluegreen_bucket {
    "~^[0-9][0-9]$" $cookie_bluegreen_bucket;
    default $bluegreen_new_bucket;
}
# What a canary is judged by: the slot that answered (the header every service's answers carry:
# a variable of the service's own would be unknown here before the first service is added), the
# status, the time taken.
log_format bluegreen_canary '$sent_http_x_bluegreen_slot $status $request_time';
`

/**
 * The proxy's listening sockets carry SO_REUSEPORT, so that a new proxy image can start in the
 * running proxy's network namespace and listen beside it (lib-proxy-pair.sh). nginx takes listen
 * options once per port, so they sit on a server block of their own, in a file named to sort
 * after every service's (nginx reads conf.d in byte order; a service name has no `~`): the first
 * server of a port answers unknown host names, and that stays a service's. Its host name never
 * matches a request. The 443 listen has no `ssl`: a TLS service's own listen makes the port TLS.
 */
export const LISTEN_FILE = '~listen.conf'
export const LISTEN_CONFIG = `# Written by the bluegreen deploy action: the listen options of ports 80 and 443.
server {
    listen 80 reuseport;
    listen 443 reuseport;
    server_name bluegreen-listen.invalid;
    return 444;
}
`

// The proxy's stdout is a pipe that dockerd drains: while the engine stalls (frozen, restarting
// with live-restore), 64 KiB of access log lines fill it and nginx blocks on the next write, with
// every request behind it. So requests are not logged unless the access-log input asks.
// The canary's own log is a file in the proxy's /tmp, written only while a canary runs.
function accessLogs(service: string, accessLog: boolean): string {
  const canary = `    access_log ${canaryLog(service)} bluegreen_canary if=$bluegreen_canary;\n`
  if (accessLog) return `    access_log /dev/stdout combined;\n${canary}`
  return `    # Not on stdout (access-log: false): a stalled Docker engine would block nginx on its log pipe.\n${canary}`
}

/** Where the proxy logs a service's requests while its canary runs (in the proxy container). */
export function canaryLog(service: string): string {
  return `/tmp/bluegreen-canary-${service}.log`
}

/** The folder of a service's canary files: `on`, and `<slot>.<bucket>` per bucket sent to the candidate. */
export function canaryDir(service: string): string {
  return `${MARKER_DIR}/canary/${service}`
}

/** The maintenance page of a service: while it exists, the service answers 503 with it. */
export function maintenancePage(service: string): string {
  return `${MARKER_DIR}/maintenance/${service}.html`
}

/** Seconds a client is told to wait (Retry-After) while the service is in maintenance. */
export const MAINTENANCE_RETRY_AFTER = 60

/**
 * The health path still reaches the app in maintenance, so that monitors and load balancers see
 * the app up. Which path that is lives in a file, not here: the switch names the live release's
 * health path by an empty file under exempt/<service>/ (lib-switch.sh), and nginx tests for the
 * file $uri names. So a new health path needs no reload. `/` is never exempt: its file would be a
 * folder.
 */
function healthExemption(service: string): string {
  return `    if (-f ${MARKER_DIR}/exempt/${service}$uri) { set $bluegreen_maintenance ""; set $bluegreen_retry_after ""; }\n`
}

/** An `ip:port` target: reached without DNS. */
export function isPinned(target: string): boolean {
  return /^\d{1,3}(?:\.\d{1,3}){3}:\d+$/.test(target)
}

function upstreamName(service: string, slot: Slot): string {
  return `bluegreen_${service.replace(/-/g, '_')}_${slot}`
}

/** The nginx variable value that sends a request to the slot: a group name, or name:port. */
function destination(service: string, upstream: SlotUpstream): string {
  const [first] = upstream.targets
  return upstream.targets.every(isPinned) ? upstreamName(service, upstream.slot) : first
}

function upstreamBlock(service: string, upstream: SlotUpstream): string {
  if (!upstream.targets.every(isPinned)) return ''
  // Passive checks: a container that refuses connections is skipped for a while (nginx ignores
  // these for a group of one server).
  const servers = upstream.targets.map((target) => `    server ${target} max_fails=1 fail_timeout=2s;`)
  return `upstream ${upstreamName(service, upstream.slot)} {\n${servers.join('\n')}\n}\n`
}

function proxyHeaders(indent: string, tls?: ServiceTls): string {
  return [
    // A container on this host's bridge connects in well under a millisecond; one that is gone
    // (removed by hand, crashed) must give a 502 in seconds, not nginx's default minute.
    'proxy_connect_timeout 5s;',
    'proxy_http_version 1.1;',
    'proxy_set_header Host $host;',
    'proxy_set_header X-Real-IP $remote_addr;',
    'proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;',
    'proxy_set_header X-Forwarded-Proto $scheme;',
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $bluegreen_connection;',
    'add_header X-Bluegreen-Slot $bluegreen_slot always;',
    'add_header Set-Cookie $bluegreen_cookie always;',
    // Empty (not sent) on HTTP: a browser takes the header only over HTTPS anyway.
    ...(tls?.hsts ? ['add_header Strict-Transport-Security $bluegreen_hsts always;'] : [])
  ].map((line) => `${indent}${line}`).join('\n')
}

// HTTP is redirected to HTTPS only once the certificate file exists (one stat per request, like
// the slot's): the config can go in before the first certificate, so the CA's HTTP-01 request
// reaches the webroot while the app keeps answering on HTTP, and the certificate's arrival
// (a rename) turns the redirect on, with no reload. Requests from inside the proxy (its own
// checks of a switch, on 127.0.0.1) are never redirected.
function httpsSets(service: string, tls: ServiceTls): string {
  return [
    '    set $bluegreen_to_https "";',
    `    if (-f ${proxyCertPath(service)}) { set $bluegreen_to_https $scheme; }`,
    '    if ($remote_addr = 127.0.0.1) { set $bluegreen_to_https ""; }',
    ...(tls.hsts ? ['    set $bluegreen_hsts "";', `    if ($scheme = https) { set $bluegreen_hsts "max-age=${HSTS_MAX_AGE}"; }`] : [])
  ].join('\n')
}

/** 308 keeps the method and body (a POST stays a POST), unlike 301. */
function redirect(tls: ServiceTls): string {
  const port = tls.httpsPort === 443 ? '' : `:${tls.httpsPort}`
  return `        if ($bluegreen_to_https = http) { return 308 https://$host${port}$request_uri; }\n`
}

function listens(isDefault: boolean, tls?: ServiceTls): string {
  const suffix = isDefault ? ' default_server' : ''
  return [`    listen 80${suffix};`, ...(tls ? [`    listen 443 ssl${suffix};`] : [])].join('\n')
}

export function renderServiceConf(conf: ServiceConf): string {
  const isDefault = conf.serverNames.length === 0
  const { tls } = conf
  const names = isDefault ? '_' : conf.serverNames.join(' ')
  const marker = `${MARKER_DIR}/${conf.service}`
  // Blue first, whatever the deploy: the same slots give the same text, and no reload.
  const ordered = [...conf.slots].sort((a, b) => (a.slot === 'blue' ? -1 : b.slot === 'blue' ? 1 : 0))
  // The `on` file is in both slot folders, `green` only in green's: each test is one stat(), and
  // green's test comes last, so a request during the rename sees one slot or the other.
  const picks = ordered.map((upstream) => {
    const file = upstream.slot === 'blue' ? 'on' : 'green'
    return `    if (-f ${marker}/${file}) { set $bluegreen_slot ${upstream.slot}; set $bluegreen_upstream ${destination(conf.service, upstream)}; }`
  })
  // During a canary, the buckets with a file in the canary folder go to the candidate's slot;
  // the live slot's symlink still serves the others.
  const canary = canaryDir(conf.service)
  const canaryPicks = ordered.map(
    (upstream) => `    if (-f ${canary}/${upstream.slot}.$bluegreen_bucket) { set $bluegreen_slot ${upstream.slot}; set $bluegreen_upstream ${destination(conf.service, upstream)}; }`
  )
  return `${SERVICE_MARK}${conf.service}
${tls ? `${TLS_MARK}\n${certificateMap(conf.service, conf.serverNames)}` : ''}${ordered.map((upstream) => upstreamBlock(conf.service, upstream)).join('')}server {
${listens(isDefault, tls)}
    server_name ${names};
${tls ? `${sslDirectives(conf.service)}\n` : ''}    # Only a target on a network the action did not create, or a Swarm slot, is a name (Docker's
    # DNS, cached 1 s so that a slot's new container is found at once); pinned addresses need no
    # lookup. A slow answer (an engine busy loading an image) makes the request wait, not fail:
    # nginx asks again after 5 s and gives up after 10.
    resolver 127.0.0.11 valid=1s ipv6=off;
    resolver_timeout 10s;
${accessLogs(conf.service, conf.accessLog)}    set $bluegreen_slot none;
    set $bluegreen_upstream "";
${picks.join('\n')}
    # A canary: its clients keep their bucket by a cookie, set only while it runs.
    set $bluegreen_canary "";
    set $bluegreen_cookie "";
    if (-f ${canary}/on) { set $bluegreen_canary 1; set $bluegreen_cookie "bluegreen_bucket=$bluegreen_bucket; Path=/; Max-Age=86400; HttpOnly; SameSite=Lax"; }
${canaryPicks.join('\n')}
    # Maintenance: while the page exists every request but the health path gets it, with a 503.
    set $bluegreen_maintenance "";
    set $bluegreen_retry_after "";
    if (-f ${maintenancePage(conf.service)}) { set $bluegreen_maintenance on; set $bluegreen_retry_after ${MAINTENANCE_RETRY_AFTER}; }
${healthExemption(conf.service)}${tls ? `${httpsSets(conf.service, tls)}\n\n${acmeLocation()}\n` : ''}
    location / {
${tls ? redirect(tls) : ''}        if ($bluegreen_maintenance) { return 503; }
        if ($bluegreen_slot = none) { return 503; }
        # The maintenance page, or nginx's own 503 when nothing is deployed.
        error_page 503 /.bluegreen/maintenance;
        # Upgraded connections (WebSocket) get their own idle timeout, in the location below.
        if ($http_upgrade != "") { return 418; }
        error_page 418 = @bluegreen_upgrade;
        # The closing window before a reload: a 500 turns keep-alive off for the request before
        # error_page sends it on, so the client gets the app's own answer with "Connection:
        # close" and opens its next connection to the new workers, instead of sending it on an
        # idle one the old workers are closing. The flag is in the proxy container's own /tmp.
        if (-f ${CLOSING_FLAG}) { return 500; }
        error_page 500 = @bluegreen_closing;
${proxyBody(tls)}
    }

    location @bluegreen_closing {
${proxyBody(tls)}
    }

    location = /.bluegreen/maintenance {
        internal;
        root ${MARKER_DIR}/maintenance;
        default_type text/html;
        add_header Retry-After $bluegreen_retry_after always;
        add_header X-Bluegreen-Maintenance $bluegreen_maintenance always;
        add_header Cache-Control "no-store" always;
        try_files /${conf.service}.html =503;
    }

    location @bluegreen_upgrade {
        proxy_pass http://$bluegreen_upstream;
${proxyHeaders('        ', tls)}
        proxy_read_timeout ${conf.websocketTimeout}s;
        proxy_send_timeout ${conf.websocketTimeout}s;
    }
}
`
}

/** What `location /` and the closing window's location do with a request. */
function proxyBody(tls?: ServiceTls): string {
  return `        proxy_pass http://$bluegreen_upstream;
${proxyHeaders('        ', tls)}
        # Stream request bodies so every request in flight holds a connection to its slot,
        # which is what the drain after a switch waits on.
        proxy_request_buffering off;
        client_max_body_size 0;`
}

/** Identifies a config's content, to tell whether the one on the host must change (and nginx reload). */
export function confDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex')
}

/** The route recorded in the first line of a config written before slots had symlinks. */
export function parseLegacyRoute(config: string): Route | undefined {
  const first = config.split('\n', 1)[0]
  if (!first.startsWith(LEGACY_MARK)) return undefined
  try {
    return JSON.parse(first.slice(LEGACY_MARK.length)) as Route
  } catch {
    return undefined
  }
}

/** A slot's route as recorded on the host (routes/<service>.<slot>.json). */
export function parseSlotRoute(json: string): Route | undefined {
  try {
    const route = JSON.parse(json) as Route
    return route.slot === 'blue' || route.slot === 'green' ? route : undefined
  } catch {
    return undefined
  }
}

/** A Host header that reaches this route's server block, for checks through the proxy. */
export function probeHostName(route: Pick<Route, 'serverNames'>): string {
  const name = route.serverNames[0]
  if (name === undefined) return 'bluegreen-check.invalid'
  return name.replace(/^\*\./, 'bluegreen-check.')
}
