import { parseSwarmSurvey, parseTasks, rollingOutcome } from '../src/host/swarm.js'
import { totalTransfer } from '../src/report/swarm-report.js'

describe('what the manager says', () => {
  it('reads the Swarm, its nodes, the network and each service (missing ones too)', () => {
    const survey = parseSwarmSurvey([
      '--swarm', 'active true id1',
      '--nodes', 'id1|n1|10.0.0.1|ready|active|manager|x86_64', 'id2|n2|10.0.0.2|down|drain|worker|aarch64',
      '--network', 'overlay swarm true',
      '--services',
      'web-blue|svc1|2|sha256:abc|dnsrr||completed|web:1|sha256:old',
      'web-green|missing',
      'edge-proxy|svc3|global|sha256:ngx|vip|18080/host 18080/host |||'
    ].join('\n'))
    expect([survey.localState, survey.manager, survey.nodeId]).toEqual(['active', true, 'id1'])
    expect(survey.nodes[1]).toEqual({ id: 'id2', hostname: 'n2', addr: '10.0.0.2', state: 'down', availability: 'drain', role: 'worker', arch: 'aarch64' })
    expect(survey.network).toEqual({ driver: 'overlay', scope: 'swarm', attachable: true })
    expect(survey.services.get('web-blue')).toMatchObject({ replicas: 2, image: 'sha256:abc', endpointMode: 'dnsrr', ref: 'web:1', previousImage: 'sha256:old', updateState: 'completed' })
    expect(survey.services.has('web-green')).toBe(true)
    expect(survey.services.get('web-green')).toBeUndefined()
    expect(survey.services.get('edge-proxy')).toMatchObject({ replicas: undefined, published: ['18080/host', '18080/host'] })
  })

  it('reads a worker, or an engine in no Swarm', () => {
    expect(parseSwarmSurvey('--swarm\nactive false id2\n--network\nmissing').manager).toBe(false)
    const none = parseSwarmSurvey('--swarm\ninactive false \n--network\nmissing')
    expect([none.localState, none.network]).toEqual(['inactive', undefined])
  })

  it('reads the tasks once every one runs, and a failed one with its log lines', () => {
    expect(parseTasks(0, ['WAIT 0/2 running', 'TASK t1 id1 10.0.1.5', 'TASK t2 id2 10.0.1.6', 'READY'])).toEqual({
      ready: true, tasks: [{ id: 't1', nodeId: 'id1', addr: '10.0.1.5' }, { id: 't2', nodeId: 'id2', addr: '10.0.1.6' }]
    })
    expect(parseTasks(3, ['FAIL task t3 on node id2 failed: task: non-zero exit (3)', 'LOG boot failed'])).toEqual({
      ready: false, reason: 'task t3 on node id2 failed: task: non-zero exit (3)', logs: ['boot failed']
    })
  })

  it('reads a rolling update\'s outcome from its UpdateStatus, never from docker service update\'s exit code', () => {
    expect(rollingOutcome(0, ['STATE updating', 'STATE completed update completed', 'DONE'])).toEqual({ ok: true, unchanged: false })
    expect(rollingOutcome(0, ['UNCHANGED'])).toEqual({ ok: true, unchanged: true })
    expect(rollingOutcome(5, ['STATE rollback_completed rollback completed', 'ERROR task: non-zero exit (3)'])).toEqual({ ok: false, kind: 'rolled-back', detail: 'task: non-zero exit (3)' })
    expect(rollingOutcome(6, ['STATE paused update paused'])).toMatchObject({ ok: false, kind: 'paused' })
    expect(rollingOutcome(4, ['STATE updating', 'TIMEOUT updating'])).toEqual({ ok: false, kind: 'timeout', detail: 'updating' })
    expect(rollingOutcome(3, ['FAILED image not found'])).toEqual({ ok: false, kind: 'refused', detail: 'image not found' })
  })
})

describe('the image\'s trip to every node', () => {
  it('sums the bytes and layers of each node, and takes the codec of one that was sent to', () => {
    const sent = { source: 'sent' as const, sentBytes: 100, archiveBytes: 200, imageBytes: 1000, skippedLayers: 1, totalLayers: 2, durationMs: 50, codec: 'gzip' as const }
    const had = { source: 'already-on-host' as const, sentBytes: 0, archiveBytes: 0, imageBytes: 1000, skippedLayers: 2, totalLayers: 2, durationMs: 0 }
    expect(totalTransfer([had, sent, sent], 1000)).toEqual({
      source: 'sent', sentBytes: 200, archiveBytes: 400, imageBytes: 1000, skippedLayers: 4, totalLayers: 6, codec: 'gzip', durationMs: 50
    })
  })
})
