import { jest } from '@jest/globals'
import { coreMock } from './support/core-mock.js'

const core = coreMock()
jest.unstable_mockModule('@actions/core', () => core)
const { getInputs, parseInputs, parseEnv } = await import('../src/inputs.js')

const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----'
const base = { host: 'example.com', key: KEY, image: 'ghcr.io/acme/web:1.4.2' }

describe('parseInputs', () => {
  it('applies the defaults of action.yml', () => {
    expect(parseInputs(base)).toEqual({
      host: 'example.com', hosts: [], canaryHosts: 1, batchSize: 0, allOrNothing: true, replicas: 1, keepPrevious: 'stopped', port: 22, username: 'root', key: KEY, passphrase: '', fingerprints: [],
      knownHosts: '', timeout: 20, image: 'ghcr.io/acme/web:1.4.2', service: 'web', appPort: undefined,
      healthPath: '/', healthTimeout: 60, proxyPort: 80, proxyImage: 'nginx:alpine', network: 'bluegreen',
      serverNames: [], env: [], drainTimeout: 30, websocketTimeout: 3600, accessLog: false, lockTimeout: 300, compression: 'auto',
      compressionLevel: undefined, layerSource: 'auto', rollback: false, rollbackSteps: 0, keepReleases: 5,
      runtime: {
        volumes: [], command: undefined, entrypoint: undefined, user: undefined, memory: undefined, cpus: undefined,
        labels: {}, stopTimeout: undefined, options: []
      },
      releaseCommand: undefined, releaseTimeout: 300, releaseOnRollback: false, workers: [], workerSettle: 5,
      maintenance: undefined, maintenancePage: '', canary: 0, canaryDuration: 60, canaryMax5xx: 1, canaryMinRequests: 20,
      tls: {
        mode: 'off', httpsPort: 443, hsts: false, directoryUrl: 'https://acme-v02.api.letsencrypt.org/directory',
        email: undefined, caBundle: undefined, certificatePem: undefined, keyPem: undefined
      },
      target: 'host', swarmUpdate: 'bluegreen'
    })
  })

  it('reads every input', () => {
    const inputs = parseInputs({
      ...base, port: '2222', username: 'deploy', fingerprint: `SHA256:${'A'.repeat(43)}`, service: 'shop',
      'app-port': '3000', 'health-path': '/healthz?full=1', 'server-name': 'a.example.com, *.b.example.com',
      env: 'A=1\n# comment\n\nB=x=y', rollback: 'true', compression: 'gzip', 'compression-level': '6'
    })
    expect(inputs).toMatchObject({
      port: 2222, username: 'deploy', service: 'shop', appPort: 3000, healthPath: '/healthz?full=1',
      serverNames: ['a.example.com', '*.b.example.com'], rollback: true, compression: 'gzip', compressionLevel: 6,
      env: [{ name: 'A', value: '1' }, { name: 'B', value: 'x=y' }]
    })
  })

  it.each([
    [{ host: '' }, /^host: required/],
    [{ host: 'example.com;id' }, /^host: expected a host name/],
    [{ port: '0' }, /^port: expected a whole number from 1 to 65535, got 0/],
    [{ port: 'ssh' }, /^port: expected a whole number, got "ssh"/],
    [{ username: 'root;id' }, /^username:/],
    [{ key: '' }, /^key: required/],
    [{ key: 'not a key' }, /^key: expected a private key/],
    [{ fingerprint: 'abc' }, /^fingerprint: expected the SHA256/],
    [{ image: '' }, /^image: required/],
    [{ image: 'app:1;touch /tmp/x' }, /^image: expected name:tag/],
    [{ image: 'a b' }, /^image: expected name:tag/],
    [{ image: '$(id)' }, /^image: expected name:tag/],
    [{ image: 'web' }, /^image: expected name:tag or name@sha256/],
    [{ service: 'a b' }, /^service: expected lowercase letters/],
    [{ service: '$(id)' }, /^service:/],
    [{ 'app-port': '70000' }, /^app-port: expected a whole number from 1 to 65535/],
    [{ 'proxy-port': '0' }, /^proxy-port:/],
    [{ 'health-path': '/a b' }, /^health-path: expected a URL path/],
    [{ 'health-path': "/'x'" }, /^health-path:/],
    [{ 'health-path': 'health' }, /^health-path:/],
    [{ env: 'NOEQUALS' }, /^env: line 1 must be KEY=VALUE/],
    [{ env: 'A=1\n=2' }, /^env: line 2/],
    [{ 'server-name': 'a b;c' }, /^server-name:/],
    [{ network: 'a b' }, /^network:/],
    [{ network: 'host' }, /^network: "host" is one of Docker's own networks, where the proxy cannot reach the app containers by name/],
    [{ network: 'none' }, /^network: "none" is one of Docker's own networks/],
    [{ network: 'bridge' }, /^network: "bridge" is one of Docker's own networks/],
    [{ network: 'default' }, /^network: "default" is one of Docker's own networks/],
    [{ 'proxy-image': 'nginx;id' }, /^proxy-image:/],
    [{ 'health-timeout': '0' }, /^health-timeout:/],
    [{ compression: 'brotli' }, /^compression: expected auto, zstd, gzip or none/],
    [{ 'layer-source': 'registry' }, /^layer-source: expected auto or docker-save, got "registry"/],
    [{ compression: 'gzip', 'compression-level': '12' }, /^compression-level: expected a whole number from 1 to 9/],
    [{ rollback: 'yes' }, /^rollback: expected true or false/],
    [{ image: '', rollback: 'true' }, /^service: required without an image, for a rollback/]
  ])('refuses %j', (overrides, message) => {
    expect(() => parseInputs({ ...base, ...overrides })).toThrow(message)
  })

  it('takes a fingerprint with base64 padding or another case of SHA256: in the form ssh-keygen prints', () => {
    const body = 'UfA5WktC8Wp2tdc1mOSW0N3b9CBNjABBSsYc0LWuehU'
    const inputs = parseInputs({ ...base, fingerprint: `SHA256:${body}=, sha256:${body} Sha256:${body}=` })
    expect(inputs.fingerprints).toEqual([`SHA256:${body}`, `SHA256:${body}`, `SHA256:${body}`])
    expect(() => parseInputs({ ...base, fingerprint: `SHA256:${body}===` })).toThrow(/^fingerprint: expected the SHA256/)
    expect(() => parseInputs({ ...base, fingerprint: `MD5:${body}` })).toThrow(/^fingerprint: expected the SHA256/)
  })

  it('never shows an env value in its error', () => {
    expect(() => parseEnv('GOOD=1\nsecret-value-here')).toThrow(/^env: line 2 .*\(value not shown\)$/)
    expect(() => parseEnv('GOOD=1\nsecret-value-here')).not.toThrow(/secret-value-here/)
  })
})

describe('getInputs', () => {
  it('takes the secret inputs out of the environment once read, so no child inherits them', () => {
    core.inputs = { ...base, passphrase: 'correct horse', env: 'A=1' }
    Object.assign(process.env, { INPUT_KEY: KEY, INPUT_PASSPHRASE: 'correct horse', INPUT_ENV: 'A=1', INPUT_HOST: 'example.com' })
    getInputs()
    expect([process.env.INPUT_KEY, process.env.INPUT_PASSPHRASE, process.env.INPUT_ENV]).toEqual([undefined, undefined, undefined])
    expect(process.env.INPUT_HOST).toBe('example.com') // not a secret: left as the runner set it
    delete process.env.INPUT_HOST
  })

  it('masks the key, each of its lines and the passphrase before parsing', () => {
    core.inputs = { ...base, passphrase: 'correct horse', image: 'bad image' }
    expect(() => getInputs()).toThrow(/^image:/)
    expect(core.secrets).toEqual(expect.arrayContaining([KEY, 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', 'correct horse']))
  })
})
