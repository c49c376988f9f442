// A real app end to end: a Node 24 web app (sandbox/node-app) that keeps its notes in SQLite on a
// named volume, migrates its schema with a release command, and drains a job queue in a worker;
// and a stock image run with a bind-mounted folder and a command, with no image built for it.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { runAction, sandboxInputs } from '../../sandbox/action.js'
import { httpRequest, startClientLoads, type ClientLoads } from '../../sandbox/load.js'
import { baseRef } from '../../sandbox/fixtures.js'
import { buildNodeApp } from '../../sandbox/node-app.js'
import type { BuiltImage } from '../../sandbox/fixtures.js'
import { hostDocker, mustHostDocker, readSandboxInfo, type SandboxInfo } from '../../sandbox/sandbox.js'
import { clearHost, serviceContainers, stateFile } from './host.js'
import { expectOk } from './runs.js'

const NETWORK = 'e2e-realapp'
const PORT = 18160
const VOLUME = 'e2e-notes-data'
/** The volume of a service whose very first deploy has a release command. */
const FIRST_VOLUME = 'e2e-notes-first'
/** A release command that outlives any release-timeout here. */
const SLEEPER = "node -e 'setTimeout(() => {}, 600000)'"
const SITE = '/srv/bluegreen-e2e-stock'
const MIGRATE = 'node /app/migrate.js'
const JOBS = 'jobs: node /app/worker.js'

let info: SandboxInfo
const images: Record<string, BuiltImage> = {}

const notes = (image: string, extra: Record<string, string> = {}) =>
  sandboxInputs(info, {
    image, service: 'notes', network: NETWORK, 'proxy-port': String(PORT), 'server-name': 'notes.test', 'health-path': '/health',
    volumes: `${VOLUME}:/data`, ...extra
  })

async function call(method: string, path: string, body?: string): Promise<{ status: number; body: string }> {
  const reply = await httpRequest(method, `http://127.0.0.1:${PORT}${path}`, { host: 'notes.test', body, timeoutMs: 10_000 })
  return { status: reply.status, body: reply.body }
}

/** One read-only SQL statement in the live web container, through the app's own query tool. */
async function query(sql: string, service = 'notes'): Promise<unknown[]> {
  const live = (await serviceContainers(service)).find((c) => c.state === 'running' && c.labels['bluegreen.role'] === 'web')
  if (!live) throw new Error(`no live ${service} container`)
  const out = await mustHostDocker(['exec', live.name, 'node', '/app/query.js', sql])
  return JSON.parse(out.stdout) as unknown[]
}

const clients = () =>
  startClientLoads({ url: `http://127.0.0.1:${PORT}/notes`, host: 'notes.test', concurrency: 3, intervalMs: 10, maxRequests: 20_000, maxMs: 120_000 })

function expectNoneFailed(loads: ClientLoads): void {
  for (const [kind, stats] of Object.entries(loads)) {
    expect({ kind, errors: stats.errors, failed: stats.failed }).toEqual({ kind, errors: [], failed: 0 })
  }
}

beforeAll(async () => {
  info = readSandboxInfo()
  await clearHost(['notes', 'notes-first', 'stock'], [NETWORK])
  await hostDocker(['volume', 'rm', '-f', VOLUME, FIRST_VOLUME])
  images.v1 = await buildNodeApp({ tag: 'e2e-realapp/notes:1', version: 'v1' })
  images.v2 = await buildNodeApp({ tag: 'e2e-realapp/notes:2', version: 'v2' })
  images.bad = await buildNodeApp({ tag: 'e2e-realapp/notes:2-bad', version: 'v2-badmigrate' })
  images.v2b = await buildNodeApp({ tag: 'e2e-realapp/notes:2b', version: 'v2-rc1' })
  images.v2c = await buildNodeApp({ tag: 'e2e-realapp/notes:2c', version: 'v2-rc2' })
}, 600_000)

afterAll(async () => {
  await clearHost(['notes', 'notes-first', 'stock'], [NETWORK])
  await hostDocker(['volume', 'rm', '-f', VOLUME, FIRST_VOLUME])
  rmSync(SITE, { recursive: true, force: true })
})

test('v1 with its data on a named volume → the volume is created and the notes written through v1 are kept there', async () => {
  expectOk(await runAction(notes(images.v1.ref)))
  for (const text of ['first note', 'second note']) expect((await call('POST', '/notes', text)).status).toBe(201)
  expect(JSON.parse((await call('GET', '/notes')).body)).toHaveLength(2)
  const volume = await mustHostDocker(['volume', 'inspect', '-f', '{{.Name}}', VOLUME])
  expect(volume.stdout.trim()).toBe(VOLUME)
})

test('v2 with a release command under load → the migration runs once, in a one-off container, before v2 takes traffic; v1\'s notes come back migrated; no request fails', async () => {
  const load = clients()
  const run = await runAction(notes(images.v2.ref, { 'release-command': MIGRATE }))
  const loads = await load.stop()
  expectOk(run)
  expectNoneFailed(loads)
  expect(run.stdout).toMatch(/::group::Run the release command\n[\s\S]*migrate v2[\s\S]*The release command exited with code 0/)
  expect(run.summary).toMatch(/\*\*Release command:\*\* `node \/app\/migrate\.js` exited with code 0/)
  const listed = JSON.parse((await call('GET', '/notes')).body) as { body: string; author: string }[]
  expect(listed.map((note) => [note.body, note.author])).toEqual([['first note', 'unknown'], ['second note', 'unknown']])
  expect(await query('select count(*) as runs from migrate_runs')).toEqual([{ runs: 1 }])
  expect(await stateFile('notes')).toMatchObject({ live: { imageId: images.v2.id, released: true } })
  // The one-off container is gone.
  expect((await serviceContainers('notes')).map((c) => c.name)).toEqual(['notes-green'])
})

test('the same image again → the release command does not run a second time', async () => {
  const run = await runAction(notes(images.v2.ref, { 'release-command': MIGRATE }))
  expectOk(run)
  expect(run.stdout).toContain('The release command is skipped: this image was released before (release-on-rollback: false)')
  expect(await query('select count(*) as runs from migrate_runs')).toEqual([{ runs: 1 }])
})

test('a release command that fails (exit 42) → the step fails with the code and its last lines, and the live version serves with no failed request', async () => {
  const load = clients()
  const run = await runAction(notes(images.bad.ref, { 'release-command': MIGRATE }))
  const loads = await load.stop()
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/::error::The release command exited with code 42; nothing switched%0ALast lines of its output:%0A.*004_import_legacy_jobs/)
  expect(run.stdout).toContain('notes-blue (e2e-realapp/notes:2) still serves')
  expectNoneFailed(loads)
  expect((await call('GET', '/')).body).toBe('version=v2\n')
  expect(await query('select count(*) as runs from migrate_runs')).toEqual([{ runs: 1 }])
})

test('a worker → it starts once the web is healthy, runs the same image, env and volume, and drains the queue', async () => {
  const run = await runAction(notes(images.v2b.ref, { 'release-command': MIGRATE, workers: JOBS }))
  expectOk(run)
  const slot = run.outputs.slot
  expect(run.summary).toContain(`**Workers:** \`notes-${slot}-jobs\``)
  for (const payload of ['a', 'b', 'c']) expect((await call('POST', '/jobs', payload)).status).toBe(201)
  let jobs: { state: string }[] = []
  for (let i = 0; i < 50 && !(jobs.length === 3 && jobs.every((job) => job.state === 'done')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    jobs = JSON.parse((await call('GET', '/jobs')).body) as { state: string }[]
  }
  expect(jobs.map((job) => job.state)).toEqual(['done', 'done', 'done'])
  const containers = await serviceContainers('notes')
  expect(containers.map((c) => [c.name, c.state, c.labels['bluegreen.role'], c.image])).toEqual([
    [`notes-${slot}`, 'running', 'web', images.v2b.id],
    [`notes-${slot}-jobs`, 'running', 'worker', images.v2b.id]
  ])
})

test('a worker that crashes at start → the release goes back: the old web and the old worker stay live, and the queue still drains', async () => {
  const live = (await stateFile('notes'))?.live?.slot
  const idle = live === 'blue' ? 'green' : 'blue'
  const load = clients()
  const run = await runAction(notes(images.v2c.ref, { 'release-command': MIGRATE, workers: JOBS, env: 'WORKER_CRASH=1' }))
  const loads = await load.stop()
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(new RegExp(`::error::Worker notes-${idle}-jobs exited \\(status exited, exit code 4\\) within worker-settle \\(5 s\\): the release goes back%0ALast log lines of notes-${idle}-jobs:%0A.*crashing at start on purpose`))
  expectNoneFailed(loads)
  expect((await call('GET', '/')).body).toBe('version=v2-rc1\n')
  const containers = await serviceContainers('notes')
  expect(containers.map((c) => [c.name, c.state])).toEqual([[`notes-${live}`, 'running'], [`notes-${live}-jobs`, 'running']])
  expect((await call('POST', '/jobs', 'd')).status).toBe(201)
  let last = ''
  for (let i = 0; i < 50 && !last.includes('"done"'); i++) {
    await new Promise((resolve) => setTimeout(resolve, 200))
    last = JSON.stringify((JSON.parse((await call('GET', '/jobs')).body) as { state: string }[]).at(-1))
  }
  expect(last).toContain('"state":"done"')
})

test('a rollback → the previous release runs again on the same data, and its worker with it; the migration does not run again', async () => {
  // Each new image ran migrate.js once (v2, v2-rc1, and v2-rc2 before its worker crashed).
  const runs = await query('select count(*) as runs from migrate_runs')
  expect(runs).toEqual([{ runs: 3 }])
  const run = await runAction(notes('', { rollback: 'true', 'release-command': MIGRATE, workers: JOBS }))
  expectOk(run)
  expect(run.stdout).toContain('The release command is skipped: a rollback (release-on-rollback: false)')
  expect((await call('GET', '/')).body).toBe('version=v2\n')
  const listed = JSON.parse((await call('GET', '/notes')).body) as { body: string }[]
  expect(listed.map((note) => note.body)).toEqual(['first note', 'second note'])
  const slot = run.outputs.slot
  expect((await serviceContainers('notes')).filter((c) => c.state === 'running').map((c) => c.name)).toEqual([`notes-${slot}`, `notes-${slot}-jobs`])
  expect(await query('select count(*) as runs from migrate_runs')).toEqual(runs)
})

test('a release command that outlives `release-timeout: 2` → it is stopped and the step fails saying so; nothing switched, and the live version serves with no failed request', async () => {
  const before = (await serviceContainers('notes')).map((c) => [c.name, c.state])
  const load = clients()
  const run = await runAction(notes(images.v2c.ref, { 'release-command': SLEEPER, 'release-timeout': '2', workers: JOBS }))
  const loads = await load.stop()
  expect(run.code).toBe(1)
  expect(run.stdout).toContain('::error::The release command did not finish within release-timeout (2 s); it was stopped')
  expect(run.stdout).toMatch(/notes-(blue|green) \(e2e-realapp\/notes:2\) still serves/)
  expect(run.durationMs).toBeLessThan(30_000)
  expectNoneFailed(loads)
  expect((await call('GET', '/')).body).toBe('version=v2\n')
  // Neither a candidate nor the one-off release container is left.
  expect((await serviceContainers('notes')).map((c) => [c.name, c.state])).toEqual(before)
})

test('a stock image with a bind-mounted folder and a command (the README example) → it serves the folder, with no image built for it', async () => {
  // The README's example runs busybox's httpd on /srv exactly so; the folder differs on this host.
  const readme = readFileSync('README.md', 'utf8')
  expect(readme).toContain('command: httpd -f -p 8080 -h /srv\n')
  expect(readme).toMatch(/app-port: 8080\n\s+volumes: \|\n\s+\/srv\/site:\/srv:ro\n/)
  mkdirSync(SITE, { recursive: true })
  writeFileSync(`${SITE}/index.html`, 'served from the host folder\n')
  const run = await runAction(sandboxInputs(info, {
    image: baseRef(), service: 'stock', network: NETWORK, 'proxy-port': String(PORT), 'server-name': 'stock.test', 'app-port': '8080',
    volumes: `${SITE}:/srv:ro`, command: 'httpd -f -p 8080 -h /srv'
  }))
  expectOk(run)
  const reply = await httpRequest('GET', `http://127.0.0.1:${PORT}/`, { host: 'stock.test' })
  expect([reply.status, reply.body]).toEqual([200, 'served from the host folder\n'])
})

test('a bind mount whose folder is missing on the host → the candidate does not start, and nothing switches', async () => {
  const run = await runAction(sandboxInputs(info, {
    image: baseRef(), service: 'stock', network: NETWORK, 'proxy-port': String(PORT), 'server-name': 'stock.test', 'app-port': '8080',
    volumes: '/srv/bluegreen-e2e-missing:/srv:ro', command: 'httpd -f -p 8080 -h /srv'
  }))
  expect(run.code).toBe(1)
  expect(run.stdout).toMatch(/::error::Could not start stock-\w+: .*bind source path does not exist/)
  const reply = await httpRequest('GET', `http://127.0.0.1:${PORT}/`, { host: 'stock.test' })
  expect(reply.body).toBe('served from the host folder\n')
})

test("a release command on a service's very first deploy → it migrates the empty volume before the web starts, with the app's env, and the first release goes live", async () => {
  // v2 refuses to start on an unmigrated database (exit 3): it goes live only if the migration
  // ran first, on the database the env names (else it would have migrated /data/app.db).
  const run = await runAction(sandboxInputs(info, {
    image: images.v2.ref, service: 'notes-first', network: NETWORK, 'proxy-port': String(PORT), 'server-name': 'first.test',
    'health-path': '/health', volumes: `${FIRST_VOLUME}:/data`, 'release-command': MIGRATE, env: 'DB_PATH=/data/first.db'
  }))
  expectOk(run)
  expect(run.stdout).toContain('run 1 on /data/first.db')
  expect(run.stdout).toContain('No live release of notes-first yet')
  expect(run.stdout).toMatch(/::group::Run the release command\n[\s\S]*The release command exited with code 0[\s\S]*::group::Start notes-first-blue/)
  const reply = await httpRequest('GET', `http://127.0.0.1:${PORT}/`, { host: 'first.test' })
  expect([reply.status, reply.body]).toEqual([200, 'version=v2\n'])
  expect(await query('select count(*) as runs from migrate_runs', 'notes-first')).toEqual([{ runs: 1 }])
  expect(await stateFile('notes-first')).toMatchObject({ live: { imageId: images.v2.id, released: true } })
})
