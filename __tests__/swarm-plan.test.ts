import type { Route } from '../src/host/nginx-config.js'
import type { ServiceState } from '../src/host/state.js'
import type { SwarmNode } from '../src/host/swarm.js'
import { agreedImageId, constraintsFor, planNodes, serviceNames, swarmConf, swarmSituation, tasksName } from '../src/rollout/swarm-plan.js'

const PIN = `SHA256:${'B'.repeat(43)}`

function node(i: number, overrides: Partial<SwarmNode> = {}): SwarmNode {
  return { id: `id${i}`, hostname: `n${i}`, addr: `10.0.0.${i}`, state: 'ready', availability: 'active', role: i === 1 ? 'manager' : 'worker', arch: 'x86_64', ...overrides }
}

const step = { host: 'manager.example.com', port: 22, hosts: [], fingerprints: [PIN] }

describe('which nodes a Swarm deploy reaches', () => {
  it('reaches the manager through host, and the others at their own Swarm address on port', () => {
    const plan = planNodes([node(1), node(2), node(3)], 'id1', { ...step, port: 2222 })
    expect(plan.reach.map((p) => [p.node.hostname, `${p.target.host}:${p.target.port}`, p.self, p.runsTasks])).toEqual([
      ['n1', 'manager.example.com:2222', true, true], ['n2', '10.0.0.2:2222', false, true], ['n3', '10.0.0.3:2222', false, true]
    ])
    // The manager keeps the step's own pins; the others get the step's fingerprint input later (no pins of their own).
    expect(plan.reach[0].target.fingerprints).toEqual([PIN])
    expect(plan.reach[1].target.fingerprints).toEqual([])
  })

  it('matches hosts lines to nodes by address or host name, with their own ports and pins', () => {
    const hosts = [{ host: 'n2', port: 2200, fingerprints: [PIN] }, { host: '10.0.0.3', port: 22, fingerprints: [] }]
    const plan = planNodes([node(1), node(2), node(3)], 'id1', { ...step, hosts })
    expect(plan.reach.slice(1).map((p) => [p.node.hostname, p.target])).toEqual([['n2', hosts[0]], ['n3', hosts[1]]])
  })

  it('skips drained nodes (no task runs there), but keeps a drained manager for its lock and record', () => {
    const plan = planNodes([node(1, { availability: 'drain' }), node(2), node(3, { availability: 'drain', state: 'down' })], 'id1', step)
    expect(plan.reach.map((p) => [p.node.hostname, p.runsTasks])).toEqual([['n1', false], ['n2', true]])
    expect(plan.skipped.map((n) => n.hostname)).toEqual(['n3'])
    expect(constraintsFor(plan.skipped)).toEqual(['node.id!=id3'])
  })

  it('refuses a node that is down, a node hosts does not list, and a hosts line that is no node, all at once', () => {
    const hosts = [{ host: '10.0.0.2', port: 22, fingerprints: [] }, { host: 'old.example.com', port: 22, fingerprints: [] }]
    expect(() => planNodes([node(1), node(2), node(3), node(4, { state: 'down' })], 'id1', { ...step, hosts })).toThrow(
      'Refused before anything in the Swarm changed:\n' +
        'hosts: no line for node n3 (10.0.0.3); list every node\'s SSH address, or drain the node\n' +
        'node n4 (10.0.0.4) is down in the Swarm: when it comes back, Swarm may place tasks there without the image; drain it (docker node update --availability drain n4) or remove it\n' +
        'hosts: old.example.com:22 is no node of the Swarm (its nodes: n1 (10.0.0.1), n2 (10.0.0.2), n3 (10.0.0.3), n4 (10.0.0.4))'
    )
  })
})

function route(slot: 'blue' | 'green', imageId = `sha256:${slot}`): Route {
  return { service: 'web', slot, container: `web-${slot}`, appPort: 8080, image: `web:${slot}`, imageId, serverNames: [], targets: [`tasks.web-${slot}:8080`] }
}

function state(live?: 'blue' | 'green'): ServiceState {
  const release = live ? { slot: live, container: `web-${live}`, image: `web:${live}`, imageId: `sha256:${live}`, appPort: 8080, deployedAt: 't' } : undefined
  return { version: 1, service: 'web', live: release, history: release ? [release] : [] }
}

describe('what is live across the nodes\' proxies', () => {
  it('takes the slot every node serves, and the idle one for the candidate', () => {
    const seen = swarmSituation(state('blue'), [route('blue'), route('blue')])
    expect([seen.situation.live?.slot, seen.situation.idleSlot, seen.repair, seen.situation.recovered]).toEqual(['blue', 'green', false, false])
  })

  it('after a run killed mid-switch, takes the slot the manager recorded, and repairs the other nodes', () => {
    const seen = swarmSituation(state('blue'), [route('green'), route('blue'), route('green')])
    expect([seen.route?.slot, seen.situation.idleSlot, seen.repair]).toEqual(['blue', 'green', true])
  })

  it('without a record, takes the slot most nodes serve', () => {
    expect(swarmSituation(state(), [route('green'), route('blue'), route('green')]).route?.slot).toBe('green')
  })

  it('after a run killed between its switch and its record, the proxies win, as on one host', () => {
    const seen = swarmSituation(state('blue'), [route('green'), route('green')])
    expect([seen.situation.live?.slot, seen.situation.recovered, seen.situation.previous?.slot]).toEqual(['green', true, 'blue'])
  })

  it('points a node without a symlink (new in the Swarm) at the live slot', () => {
    expect(swarmSituation(state('green'), [route('green'), undefined]).repair).toBe(true)
  })

  it('finds nothing live on a first deploy', () => {
    const seen = swarmSituation(state(), [undefined, undefined])
    expect([seen.situation.live, seen.situation.idleSlot, seen.repair]).toEqual([undefined, 'blue', false])
  })
})

describe('the proxy config of a Swarm', () => {
  const request = { service: 'web', serverNames: [], websocketTimeout: 3600, accessLog: false, slot: 'green' as const, appPort: 3000 }

  it('reaches each slot through Docker\'s DNS, every task of it, resolved per request', () => {
    const conf = swarmConf(request)
    expect(conf).toContain('set $bluegreen_upstream tasks.web-blue:3000;')
    expect(conf).toContain('set $bluegreen_upstream tasks.web-green:3000;')
    expect(conf).toContain('resolver 127.0.0.11 valid=1s')
    // A slow DNS answer from a busy engine waits past nginx's 5 s resend instead of failing the request.
    expect(conf).toContain('resolver_timeout 10s;')
    expect(tasksName('web', 'blue')).toBe('tasks.web-blue')
  })

  it('keeps the live slot as it was switched to, and gives the same text for the same slots (no reload)', () => {
    const live = { ...route('blue'), appPort: 8080 }
    const conf = swarmConf(request, live)
    expect(conf).toContain('tasks.web-blue:8080')
    expect(conf).toContain('tasks.web-green:3000')
    expect(swarmConf({ ...request, slot: 'blue', appPort: 8080 }, route('green'))).toBe(swarmConf({ ...request, slot: 'blue', appPort: 8080 }, { ...route('green'), targets: undefined }))
  })

  it('reads the slots\' services and the proxy\'s, or the user\'s own for a rolling update', () => {
    expect(serviceNames({ swarmUpdate: 'bluegreen', service: 'web', network: 'edge' })).toEqual(['web-blue', 'web-green', 'edge-proxy'])
    expect(serviceNames({ swarmUpdate: 'rolling', service: 'shop_web', network: 'edge' })).toEqual(['shop_web'])
  })
})

describe('the image ID the service names', () => {
  it('is the one every node reports', () => {
    expect(agreedImageId('web:2', [{ node: 'n1', id: 'sha256:a' }, { node: 'n2', id: 'sha256:a' }])).toBe('sha256:a')
  })

  it('is refused when nodes disagree (containerd and classic stores side by side), naming each', () => {
    expect(() => agreedImageId('web:2', [{ node: 'n1', id: 'sha256:a' }, { node: 'n2', id: 'sha256:b' }])).toThrow(
      'image: the nodes name web:2 by different IDs (n1: sha256:a, n2: sha256:b)'
    )
  })
})
