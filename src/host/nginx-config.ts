import type { Slot } from './paths.js'

// The proxy's per-service config. Its first line records the release it routes to, so the
// proxy config itself tells which slot is live, even when a run died before saving state.

export interface Route {
  service: string
  slot: Slot
  container: string
  appPort: number
  image: string
  imageId: string
  /** Empty: the default server, answering any host name. */
  serverNames: string[]
}

const MARKER = '# bluegreen-route '

/** Shared by every service on a proxy: websocket upgrades pass through. */
export const COMMON_CONFIG = `# Written by the bluegreen deploy action.
map $http_upgrade $bluegreen_connection {
    default upgrade;
    ''      close;
}
`

export function renderRoute(route: Route): string {
  const isDefault = route.serverNames.length === 0
  const listen = isDefault ? 'listen 80 default_server;' : 'listen 80;'
  const names = isDefault ? '_' : route.serverNames.join(' ')
  // The upstream is a variable so nginx resolves it through Docker's DNS at request time:
  // the proxy starts, and survives an engine restart, whatever state the app containers are in.
  // Docker's DNS answers a container's name at once; a name it no longer knows (a container
  // removed by hand) goes to the host's upstream DNS, which may never answer: without a short
  // resolver_timeout each such request would hang for nginx's default 30 s before its 502.
  return `${MARKER}${JSON.stringify(route)}
server {
    ${listen}
    server_name ${names};
    resolver 127.0.0.11 valid=10s ipv6=off;
    resolver_timeout 2s;
    set $bluegreen_upstream ${route.container}:${route.appPort};

    location / {
        proxy_pass http://$bluegreen_upstream;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $bluegreen_connection;
        # Stream request bodies so every request in flight holds a connection to its slot,
        # which is what the drain after a switch waits on.
        proxy_request_buffering off;
        client_max_body_size 0;
        add_header X-Bluegreen-Slot ${route.slot} always;
    }
}
`
}

/** The route recorded in a config's first line, or undefined when it has none. */
export function parseRoute(config: string): Route | undefined {
  const first = config.split('\n', 1)[0]
  if (!first.startsWith(MARKER)) return undefined
  try {
    return JSON.parse(first.slice(MARKER.length)) as Route
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
