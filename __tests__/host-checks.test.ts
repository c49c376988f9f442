import { parsePreflight } from '../src/host/preflight.js'
import { parseProxyCheck, proxyProblems, proxyReady, type ProxySpec } from '../src/host/proxy.js'

describe('preflight', () => {
  const target = 'deploy@example.com:22'

  it('reads the Docker version and platform, the user, the tools and the CPUs qemu emulates', () => {
    const facts = parsePreflight('docker 29.0.1 linux arm64\ntool zstd\nemulates x86_64\nuser deploy\n', target)
    expect(facts).toEqual({
      user: 'deploy', dockerVersion: '29.0.1', tools: ['zstd'], platform: { os: 'linux', arch: 'arm64' }, emulated: ['x86_64']
    })
  })

  it("reads the kernel's boot ID, when the host has one to show", () => {
    const boot = '5d3a1f0e-8c2b-4d7e-9f61-0a4b2c3d4e5f'
    expect(parsePreflight(`docker 20.10.24 linux amd64\nuser deploy\nboot ${boot}\n`, target).bootId).toBe(boot)
    expect(parsePreflight('docker 20.10.24 linux amd64\nuser deploy\nboot \n', target).bootId).toBeUndefined()
  })

  it.each([
    ['problem no-bash', /has no bash on the PATH/],
    ['problem no-docker', /has no docker command on the PATH/],
    ['problem docker-error permission denied while trying to connect to the Docker daemon socket', /may not use Docker .*docker group/],
    ['problem docker-error Cannot connect to the Docker daemon', /Docker on deploy@example.com:22 does not answer/],
    ['problem state-dir', /cannot write \/var\/lib\/bluegreen/]
  ])('explains %s', (stdout, message) => {
    expect(() => parsePreflight(stdout, target)).toThrow(message)
  })
})

describe('proxy checks', () => {
  const spec: ProxySpec = { network: 'bluegreen', port: 80, image: 'nginx:alpine', service: 'web', serverNames: [] }
  // What scripts/survey.sh prints for another service's config: its server_name line.
  const other = (serverNames: string[]) => `names api ${serverNames.length ? serverNames.join(' ') : '_'}`

  it('reads the proxy container, its network and the other services\' host names', () => {
    const check = parseProxyCheck(`proxy running|{"80/tcp":[{"HostIp":"","HostPort":"8080"}]}|nginx:alpine\n${other(['api.example.com', '*.api.example.com'])}\n`, 'pinned 10.213.5.0/24')
    expect(check).toMatchObject({ status: 'running', publishedPort: 8080, image: 'nginx:alpine', portBusy: false })
    expect(check.otherServices).toEqual([{ service: 'api', serverNames: ['api.example.com', '*.api.example.com'] }])
    expect(check.network).toEqual({ mode: 'pinned', subnet: '10.213.5.0/24' })
    expect(check.commonCurrent).toBe(false)
    expect(parseProxyCheck('proxy running|{}|nginx:alpine\ncommon-current\n').commonCurrent).toBe(true)
    expect(parseProxyCheck('proxy missing\n', 'names').network).toEqual({ mode: 'names', subnet: undefined })
    expect(parseProxyCheck('proxy missing\n', 'missing\n').network).toEqual({ mode: 'missing' })
  })

  it('needs nothing done only for a running proxy of the image asked for, with this version\'s shared config, whose pair is as an upgrade left it', () => {
    const current = 'proxy running|{"80/tcp":[{"HostIp":"","HostPort":"80"}]}|nginx:alpine\ncommon-current\n'
    expect(proxyReady(parseProxyCheck(current), spec)).toBe(true)
    expect(proxyReady(parseProxyCheck(current), { image: 'nginx:1.27-alpine' })).toBe(false)
    expect(proxyReady(parseProxyCheck(current.replace('common-current', '')), spec)).toBe(false)
    expect(proxyReady(parseProxyCheck(current.replace('running', 'exited')), spec)).toBe(false)
    // An upgraded proxy: the ports are its holder's, and the pair needs repair after a restart.
    const repair = parseProxyCheck(`${current}pair-repair\n`)
    expect(repair).toMatchObject({ publishedPort: 80, pairRepair: true })
    expect(proxyReady(repair, spec)).toBe(false)
  })

  it('refuses a port taken by something else, another port than the proxy publishes, and clashing names', () => {
    expect(proxyProblems(parseProxyCheck('proxy missing\nport-busy\n'), spec)).toEqual([
      'proxy-port: port 80 is already in use on the host by something other than bluegreen-proxy'
    ])
    expect(proxyProblems(parseProxyCheck('proxy running|{"80/tcp":[{"HostPort":"8080"}]}|nginx\n'), spec)[0]).toMatch(
      /^proxy-port: the proxy bluegreen-proxy of network bluegreen publishes port 8080, not 80/
    )
    expect(proxyProblems(parseProxyCheck(`proxy missing\n${other([])}\n`), spec)[0]).toMatch(/^server-name: api already answers every host name/)
    expect(proxyProblems(parseProxyCheck(`proxy missing\n${other(['a.example.com'])}\n`), { ...spec, serverNames: ['a.example.com'] })).toEqual([
      'server-name: a.example.com already routes to api'
    ])
    expect(proxyProblems(parseProxyCheck(`proxy running|{"80/tcp":[{"HostPort":"80"}]}|nginx\n${other(['a.example.com'])}\n`), spec)).toEqual([])
  })

  it('reads each published port by the container port it maps, whatever the order', () => {
    const both = parseProxyCheck('proxy running|{"443/tcp":[{"HostIp":"","HostPort":"8443"}],"80/tcp":[{"HostIp":"","HostPort":"8080"}]}|nginx\n')
    expect(both).toMatchObject({ publishedPort: 8080, publishedHttpsPort: 8443 })
    expect(parseProxyCheck('proxy running|{"80/tcp":[{"HostIp":"","HostPort":"80"}]}|nginx\n').publishedHttpsPort).toBeUndefined()
  })

  it('refuses an HTTPS port the proxy publishes elsewhere or something else holds; a proxy without one is no problem (it is recreated)', () => {
    const tls = { ...spec, httpsPort: 443 }
    expect(proxyProblems(parseProxyCheck('proxy running|{"80/tcp":[{"HostPort":"80"}],"443/tcp":[{"HostPort":"8443"}]}|nginx\n'), tls)).toEqual([
      'https-port: the proxy bluegreen-proxy of network bluegreen publishes HTTPS on port 8443, not 443; use the same https-port for every service on a network, or another network'
    ])
    expect(proxyProblems(parseProxyCheck('proxy running|{"80/tcp":[{"HostPort":"80"}]}|nginx\nhttps-busy\n'), tls)).toEqual([
      'https-port: port 443 is already in use on the host by something other than bluegreen-proxy'
    ])
    expect(proxyProblems(parseProxyCheck('proxy running|{"80/tcp":[{"HostPort":"80"}]}|nginx\n'), tls)).toEqual([])
    // Without TLS the HTTPS port is none of this service's business.
    expect(proxyProblems(parseProxyCheck('proxy running|{"80/tcp":[{"HostPort":"80"}],"443/tcp":[{"HostPort":"8443"}]}|nginx\n'), spec)).toEqual([])
  })
})
