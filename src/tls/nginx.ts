// The proxy's side of the certificate store (store.ts), for the nginx config to include. nginx
// (1.15.9+, checked on 1.22) reads a certificate whose path has variables at every handshake, so
// a renewed file is served from the next handshake on, with no reload.
//
// The path goes through a map, not $ssl_server_name itself: nginx 1.22 puts the client's SNI into
// the path as sent, so an SNI of "../other/x" made it load .../other/x.pem (any .pem the workers
// can read), and an upper-case SNI found no file. The map (case-insensitive, `hostnames`) turns
// only the names this proxy serves into file names; anything else gets no certificate.
import { safeName } from './store.js'

/** Where the proxy container mounts the store's certs folder. */
export const PROXY_CERTS_DIR = '/etc/nginx/bluegreen/certs'
/** Where it mounts the webroot that answers HTTP-01. */
export const PROXY_WEBROOT = '/etc/nginx/bluegreen/webroot'

/** http-level map from the SNI to a certificate file name, one entry per server name. */
export function certificateMap(names: string[]): string {
  const entries = [...new Set(names.map(safeName))].sort().map((name) => `    ${name} ${name};`)
  return ['map $ssl_server_name $bluegreen_cert {', '    hostnames;', '    default "";', ...entries, '}', ''].join('\n')
}

/** Inside a `listen 443 ssl` server: the certificate of the SNI's name, read per handshake. */
export const SSL_DIRECTIVES = `ssl_certificate ${PROXY_CERTS_DIR}/$bluegreen_cert.pem;
ssl_certificate_key ${PROXY_CERTS_DIR}/$bluegreen_cert.pem;`

/** Inside every port-80 server: the CA's HTTP-01 requests are answered from the webroot. */
export const ACME_LOCATION = `location /.well-known/acme-challenge/ {
    root ${PROXY_WEBROOT};
    default_type text/plain;
}`
