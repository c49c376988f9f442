// The proxy's side of the certificate store (store.ts): what a TLS service's nginx config holds.
// The store lives in the proxy's conf.d (conf.d/bluegreen/tls), which the proxy mounts read-only
// already, so a recreated proxy serves the same certificates at once; nginx includes only
// conf.d/*.conf, so nothing below conf.d/bluegreen is read as config.
//
// nginx (1.15.9+, checked on 1.22) reads a certificate whose path has a variable at every
// handshake, so a renewed file is served from the next handshake on, with no reload. The path
// goes through a map, never $ssl_server_name itself: nginx 1.22 puts the client's SNI into the
// path as sent, so an SNI of "../other/x" made it load .../other/x.pem, and an upper-case SNI
// found no file. The map (case-insensitive, `hostnames`) turns only the service's own names into
// its file name; any other name gets none, and its handshake fails.
//
// No OCSP stapling: nginx staples only certificates it loaded with its configuration, never one
// loaded per handshake (ssl_stapling then does nothing at all), and Let's Encrypt ended its OCSP
// service in 2025: clients check revocation through CRLs instead.
import { safeName } from './store.js'

/** Where the proxy container sees the store (the host's <proxy dir>/conf.d/bluegreen/tls). */
export const PROXY_TLS_DIR = '/etc/nginx/conf.d/bluegreen/tls'
export const PROXY_WEBROOT = `${PROXY_TLS_DIR}/webroot`

/** Mozilla's "intermediate" ciphers for TLS 1.2 (ECDHE, AEAD, forward secrecy); TLS 1.3 has its own. */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384', 'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305'
].join(':')

/** The nginx variable that names a service's certificate file: one map per service. */
export function certVariable(id: string): string {
  return `$bluegreen_cert_${safeName(id).replace(/-/g, '_')}`
}

/** The service's certificate file as the proxy reads it. */
export function proxyCertPath(id: string): string {
  return `${PROXY_TLS_DIR}/certs/${safeName(id)}.pem`
}

/**
 * http-level map from the SNI to the service's certificate file name. With no server names (the
 * default server, answering any name) every SNI, and none, gets the service's own file.
 */
export function certificateMap(id: string, names: string[]): string {
  const file = safeName(id)
  const entries = [...new Set(names.map(safeName))].sort().map((name) => `    ${name} ${file};`)
  const fallback = names.length === 0 ? file : '""'
  return [`map $ssl_server_name ${certVariable(id)} {`, '    hostnames;', `    default ${fallback};`, ...entries, '}', ''].join('\n')
}

/** Inside the service's server block: its certificate, read per handshake, and the TLS settings. */
export function sslDirectives(id: string, indent = '    '): string {
  const path = `${PROXY_TLS_DIR}/certs/${certVariable(id)}.pem`
  return [
    `ssl_certificate ${path};`,
    // Key and chain in one file, so one rename replaces both together.
    `ssl_certificate_key ${path};`,
    'ssl_protocols TLSv1.2 TLSv1.3;',
    `ssl_ciphers ${TLS12_CIPHERS};`,
    'ssl_prefer_server_ciphers off;',
    // One cache for every service of the proxy (same name and size: nginx shares it).
    'ssl_session_cache shared:bluegreen_tls:10m;',
    'ssl_session_timeout 1d;',
    // Tickets would need a key rotated by hand to keep forward secrecy; the cache resumes sessions.
    'ssl_session_tickets off;'
  ].map((line) => `${indent}${line}`).join('\n')
}

/** HTTP-01: the CA's requests on port 80 are answered from the webroot, never by the app. */
export function acmeLocation(indent = '    '): string {
  return [
    'location ^~ /.well-known/acme-challenge/ {',
    `    root ${PROXY_WEBROOT};`,
    '    default_type text/plain;',
    '}'
  ].map((line) => `${indent}${line}`).join('\n')
}
