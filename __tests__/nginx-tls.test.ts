import { confDigest, renderServiceConf, type ServiceTls } from '../src/host/nginx-config.js'
import { planRoute } from '../src/host/route.js'
import { sslDirectives } from '../src/tls/nginx.js'

const slots = [{ slot: 'blue' as const, targets: ['10.1.0.254:8080'] }, { slot: 'green' as const, targets: ['10.1.0.253:8080'] }]
const conf = (tls?: ServiceTls, serverNames = ['shop.example.com', 'www.shop.example.com']) =>
  renderServiceConf({ service: 'shop', serverNames, websocketTimeout: 3600, accessLog: false, slots, ...(tls ? { tls } : {}) })

describe('the proxy config of a TLS service', () => {
  const text = conf({ httpsPort: 443, hsts: false })

  it('listens on 443 in the same server block, so both schemes pick the slot by the same symlink', () => {
    expect(text.match(/^server \{$/gm)).toHaveLength(1)
    expect(text).toContain('    listen 80;\n    listen 443 ssl;\n    server_name shop.example.com www.shop.example.com;\n')
    expect(text).toContain('if (-f /etc/nginx/conf.d/bluegreen/shop/green) { set $bluegreen_slot green;')
    // X-Forwarded-Proto is the scheme of the request: https on 443.
    expect(text).toContain('proxy_set_header X-Forwarded-Proto $scheme;')
  })

  it('reads its certificate per handshake from its own file, which only its names map to', () => {
    expect(text).toMatch(/^# bluegreen-service shop\n# bluegreen-tls\nmap \$ssl_server_name \$bluegreen_cert_shop \{\n    hostnames;\n    default "";\n    shop\.example\.com shop;\n    www\.shop\.example\.com shop;\n\}\n/)
    expect(text).toContain('ssl_certificate /etc/nginx/conf.d/bluegreen/tls/certs/$bluegreen_cert_shop.pem;')
    expect(text).toContain('ssl_certificate_key /etc/nginx/conf.d/bluegreen/tls/certs/$bluegreen_cert_shop.pem;')
    expect(text).not.toContain('$ssl_server_name.pem')
  })

  it('speaks TLS 1.2 and 1.3 only, with forward-secret AEAD ciphers, and staples no OCSP (nginx cannot for per-handshake certificates)', () => {
    expect(text).toContain('ssl_protocols TLSv1.2 TLSv1.3;')
    expect(text).toMatch(/ssl_ciphers (ECDHE-(ECDSA|RSA)-(AES128-GCM-SHA256|AES256-GCM-SHA384|CHACHA20-POLY1305):?){6};/)
    expect(text).toContain('ssl_session_tickets off;')
    expect(text).not.toContain('stapling')
  })

  it('answers HTTP-01 from the webroot and redirects the rest of HTTP with a 308, once the certificate exists', () => {
    expect(text).toContain('location ^~ /.well-known/acme-challenge/ {\n        root /etc/nginx/conf.d/bluegreen/tls/webroot;')
    expect(text).toContain('if (-f /etc/nginx/conf.d/bluegreen/tls/certs/shop.pem) { set $bluegreen_to_https $scheme; }')
    // The proxy's own checks (the switch's verify, on 127.0.0.1) stay on HTTP.
    expect(text).toContain('if ($remote_addr = 127.0.0.1) { set $bluegreen_to_https ""; }')
    expect(text).toContain('    location / {\n        if ($bluegreen_to_https = http) { return 308 https://$host$request_uri; }\n        if ($bluegreen_maintenance)')
    expect(conf({ httpsPort: 8443, hsts: false })).toContain('return 308 https://$host:8443$request_uri;')
  })

  it('sends Strict-Transport-Security on HTTPS only, and only when hsts is on', () => {
    expect(text).not.toContain('Strict-Transport-Security')
    const hsts = conf({ httpsPort: 443, hsts: true })
    expect(hsts).toContain('if ($scheme = https) { set $bluegreen_hsts "max-age=31536000"; }')
    // In every proxying location (/, the closing window's, upgrades): nginx drops the server's
    // add_header where a location has its own.
    expect(hsts.match(/add_header Strict-Transport-Security \$bluegreen_hsts always;/g)).toHaveLength(3)
  })

  it('is the default server on both ports without server names, with its certificate for any name', () => {
    const any = conf({ httpsPort: 443, hsts: false }, [])
    expect(any).toContain('    listen 80 default_server;\n    listen 443 ssl default_server;\n')
    expect(any).toContain('    default shop;\n')
  })

  it('shares one session cache of one size between services (nginx requires the same size)', () => {
    expect(sslDirectives('a')).toContain('ssl_session_cache shared:bluegreen_tls:10m;')
    expect(sslDirectives('b')).toContain('ssl_session_cache shared:bluegreen_tls:10m;')
  })
})

describe('the route of a TLS service', () => {
  const request = {
    service: 'shop', network: 'bluegreen', serverNames: ['shop.example.com'], replicas: 1, websocketTimeout: 3600, accessLog: false,
    slot: 'green' as const, container: 'shop-green', appPort: 8080
  }
  const snapshot = { state: { version: 1 as const, service: 'shop', history: [] }, containers: [] }
  const addresses = { blue: ['10.1.0.254'], green: ['10.1.0.253'] }

  it('turning TLS on, or hsts, changes the config (one reload); the same settings again change nothing', () => {
    const plain = planRoute(request, snapshot, addresses)
    const tls = planRoute({ ...request, tls: { httpsPort: 443, hsts: false } }, { ...snapshot, confDigest: undefined }, addresses)
    expect(tls.conf).not.toBe(plain.conf)
    const again = planRoute({ ...request, tls: { httpsPort: 443, hsts: false } }, { ...snapshot, confDigest: confDigest(tls.conf) }, addresses)
    expect(again.write).toBe(false)
    const hsts = planRoute({ ...request, tls: { httpsPort: 443, hsts: true } }, { ...snapshot, confDigest: confDigest(tls.conf) }, addresses)
    expect(hsts.write).toBe(true)
  })
})
