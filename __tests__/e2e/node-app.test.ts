// The Node 24 + SQLite app fixture (sandbox/node-app), run directly on the runner engine, not
// through the action: what the action's volume, release-command and worker tests rely on.
import http from 'node:http'
import { removeImage, type BuiltImage } from '../../sandbox/fixtures.js'
import { httpGet, httpRequest, type Reply } from '../../sandbox/load.js'
import { NODE_APP, NODE_VERSION, buildNodeApp } from '../../sandbox/node-app.js'
import { mustRunnerDocker, runnerDocker, type ExecResult } from '../../sandbox/sandbox.js'

const RUN = `nodeapp-test-${process.pid.toString(36)}${Date.now().toString(36)}`
const containers: string[] = []
const volumes: string[] = []
const images: BuiltImage[] = []

let v1: BuiltImage
let v2: BuiltImage
let bad: BuiltImage
/** The named volume that goes from v1 to v2 through the tests, in order. */
let data: string

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

function containerName(what: string): string {
  const name = `${RUN}-${what}`
  containers.push(name)
  return name
}

async function newVolume(what: string): Promise<string> {
  const name = `${RUN}-${what}`
  volumes.push(name)
  await mustRunnerDocker(['volume', 'create', name])
  return name
}

function envArgs(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`])
}

interface OneOff extends ExecResult {
  /** The container's own exit code, from docker inspect. */
  exitCode: number
}

let oneOffs = 0

/** A one-off container on `volume`, as the action's release command runs: attached, bounded. */
async function oneOff(image: BuiltImage, volume: string, command: readonly string[], env: Record<string, string> = {}): Promise<OneOff> {
  const name = containerName(`once${++oneOffs}`)
  const r = await runnerDocker(['run', '--name', name, '-v', `${volume}:${NODE_APP.dataDir}`, ...envArgs(env), image.ref, ...command], {
    timeoutMs: 60_000
  })
  const state = await runnerDocker(['container', 'inspect', '-f', '{{.State.Status}} {{.State.ExitCode}}', name])
  await runnerDocker(['rm', '-f', name])
  const [status, code] = state.stdout.trim().split(' ')
  if (status !== 'exited') throw new Error(`${name} did not exit (${status}): ${r.stderr}`)
  return { ...r, exitCode: Number(code) }
}

/** Rows of a read-only query on the volume's database. */
async function query(volume: string, sql: string): Promise<Record<string, unknown>[]> {
  const r = await oneOff(v2, volume, [...NODE_APP.query, sql])
  if (r.exitCode !== 0) throw new Error(`query failed (exit ${r.exitCode}): ${r.stderr}`)
  return JSON.parse(r.stdout) as Record<string, unknown>[]
}

interface Running {
  name: string
  url: string
}

/** Starts the image's server on `volume`, published on a loopback port, and waits for /health. */
async function serve(image: BuiltImage, volume: string, env: Record<string, string> = {}): Promise<Running> {
  const name = containerName(`web${containers.length}`)
  await mustRunnerDocker(['run', '-d', '--name', name, '-p', `127.0.0.1::${NODE_APP.port}`, '-v', `${volume}:${NODE_APP.dataDir}`,
    ...envArgs(env), image.ref])
  const port = (await mustRunnerDocker(['port', name, `${NODE_APP.port}/tcp`])).stdout.split('\n')[0]?.trim() ?? ''
  const url = `http://${port}`
  const deadline = Date.now() + 20_000
  for (;;) {
    const reply = await httpGet(`${url}/health`, { timeoutMs: 2_000 }).catch(() => undefined)
    if (reply?.status === 200) return { name, url }
    const state = (await runnerDocker(['container', 'inspect', '-f', '{{.State.Status}}', name])).stdout.trim()
    if (state !== 'running' || Date.now() > deadline) {
      const logs = await runnerDocker(['logs', name])
      throw new Error(`${name} (${image.ref}) not healthy (${state}): ${logs.stdout}${logs.stderr}`)
    }
    await sleep(100)
  }
}

/** `docker stop` (SIGTERM, then SIGKILL after 10 s): the exit code, the logs and how long it took. */
async function stop(name: string): Promise<{ exitCode: number; logs: string; ms: number }> {
  const t0 = Date.now()
  await mustRunnerDocker(['stop', '-t', '10', name], { timeoutMs: 30_000 })
  const ms = Date.now() - t0
  const exitCode = Number((await mustRunnerDocker(['container', 'inspect', '-f', '{{.State.ExitCode}}', name])).stdout.trim())
  const logs = await mustRunnerDocker(['logs', name])
  return { exitCode, logs: logs.stdout + logs.stderr, ms }
}

function json<T = unknown>(reply: Reply): T {
  return JSON.parse(reply.body) as T
}

const postJson = (url: string, body: unknown): Promise<Reply> =>
  httpRequest('POST', url, { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })

/** Two GETs through one keep-alive agent: whether the second reused the first one's connection. */
async function keepAliveTwice(url: string): Promise<{ headers: http.IncomingHttpHeaders; reused: boolean }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
  const get = (): Promise<{ headers: http.IncomingHttpHeaders; reused: boolean }> => new Promise((resolve, reject) => {
    const req = http.get(url, { agent, timeout: 5_000 }, (res) => {
      res.resume()
      res.on('end', () => resolve({ headers: res.headers, reused: req.reusedSocket }))
    })
    req.on('timeout', () => req.destroy(new Error('timeout')))
    req.on('error', reject)
  })
  try {
    const first = await get()
    const second = await get()
    return { headers: first.headers, reused: second.reused }
  } finally {
    agent.destroy()
  }
}

const SCHEMA_SQL = 'SELECT type, name, sql FROM sqlite_schema ORDER BY name'

beforeAll(async () => {
  v1 = await buildNodeApp({ tag: `${RUN}-v1`, version: 'v1' })
  images.push(v1)
  v2 = await buildNodeApp({ tag: `${RUN}-v2`, version: 'v2' })
  images.push(v2)
  bad = await buildNodeApp({ tag: `${RUN}-v2-badmigrate`, version: 'v2-badmigrate' })
  images.push(bad)
  data = await newVolume('data')
})

afterAll(async () => {
  if (containers.length) await runnerDocker(['rm', '-f', ...containers])
  for (const volume of volumes) await runnerDocker(['volume', 'rm', '-f', volume])
  for (const image of images) await removeImage(image.ref)
})

test('the versions share the base layer and differ in one small app layer', async () => {
  const layers = async (image: BuiltImage): Promise<string[]> =>
    JSON.parse((await mustRunnerDocker(['image', 'inspect', '-f', '{{json .RootFS.Layers}}', image.ref])).stdout) as string[]
  const [l1, l2, lb] = [await layers(v1), await layers(v2), await layers(bad)]
  expect(l1).toHaveLength(2)
  expect(l2[0]).toBe(l1[0])
  expect(lb[0]).toBe(l1[0])
  expect(new Set([l1[1], l2[1], lb[1]]).size).toBe(3)
  const config = JSON.parse((await mustRunnerDocker(['image', 'inspect', '-f', '{{json .Config}}', v1.ref])).stdout) as {
    User: string; Cmd: string[]; Entrypoint?: string[] | null; ExposedPorts: Record<string, unknown>
  }
  expect(config).toMatchObject({ User: '10001:10001', Cmd: ['node', '/app/server.js'], ExposedPorts: { '8080/tcp': {} } })
  expect(config.Entrypoint ?? null).toBeNull() // the release command and workers replace the whole command
})

test('v1 on a fresh named volume: notes in SQLite owned by uid 10001, and SIGTERM drains a request in flight', async () => {
  const web = await serve(v1, data, { GREETING: 'hello from env' })
  expect((await httpGet(`${web.url}/`)).body).toBe('version=v1\n')
  // Keep-alive as a proxy's upstream wants it: idle longer than nginx's 60 s upstream timeout.
  const keepAlive = await keepAliveTwice(`${web.url}/`)
  expect(keepAlive.headers).toMatchObject({ connection: 'keep-alive', 'keep-alive': 'timeout=65' })
  expect(keepAlive.reused).toBe(true)
  expect((await httpGet(`${web.url}/health`)).body).toBe('ok\n')
  expect((await httpGet(`${web.url}/env?GREETING`)).body).toBe('hello from env\n')
  expect((await httpGet(`${web.url}/env?NOT_SET_ANYWHERE`)).status).toBe(404)
  expect(json(await httpGet(`${web.url}/info`))).toMatchObject({ version: 'v1', uid: 10001, gid: 10001, node: `v${NODE_VERSION}` })

  const first = await httpRequest('POST', `${web.url}/notes`, { body: 'first note' })
  expect(first.status).toBe(201)
  expect(json(first)).toEqual({ id: 1 })
  expect(json(await postJson(`${web.url}/notes`, { body: 'second note' }))).toEqual({ id: 2 })
  expect((await httpGet(`${web.url}/jobs`)).status).toBe(404) // v1 has no queue
  const notes = json<Record<string, unknown>[]>(await httpGet(`${web.url}/notes`))
  expect(notes).toEqual([
    { id: 1, body: 'first note', created_at: expect.any(String) },
    { id: 2, body: 'second note', created_at: expect.any(String) }
  ])

  // Docker copied the image's /data ownership into the new volume: the database, its WAL and
  // shared-memory files are the app user's.
  const files = await oneOff(v1, data, ['node', '-e',
    "const fs=require('fs');for(const f of ['','app.db','app.db-wal','app.db-shm']){const s=fs.statSync('/data/'+f);console.log(f||'.',s.uid,s.gid)}"])
  expect(files.exitCode).toBe(0)
  expect(files.stdout).toBe('. 10001 10001\napp.db 10001 10001\napp.db-wal 10001 10001\napp.db-shm 10001 10001\n')

  const slow = httpGet(`${web.url}/slow?2`, { timeoutMs: 15_000 }).catch((e: Error) => e)
  await sleep(500)
  const stopped = await stop(web.name)
  const answer = await slow
  expect(answer).toMatchObject({ status: 200, body: 'slow done version=v1\n' })
  expect(stopped.exitCode).toBe(0)
  expect(stopped.ms).toBeLessThan(8_000) // it exited on SIGTERM, not on the SIGKILL 10 s later
  expect(stopped.logs).toContain('server v1: SIGTERM: no new connections; draining 1 request(s) in flight')
  expect(stopped.logs).toContain('server v1: stopped')
})

test('v2 refuses to start on an unmigrated volume, or an empty one: exit 3 and what to run', async () => {
  const unmigrated = await oneOff(v2, data, NODE_APP.server)
  expect(unmigrated.exitCode).toBe(NODE_APP.exit.notMigrated)
  expect(unmigrated.stderr).toBe('database not migrated: run /app/migrate.js\n')
  const empty = await oneOff(v2, await newVolume('empty'), NODE_APP.server)
  expect(empty.exitCode).toBe(3)
  expect(empty.stderr).toContain('database not migrated: run /app/migrate.js')
  const worker = await oneOff(v2, data, NODE_APP.worker)
  expect(worker.exitCode).toBe(3)
})

test('the broken release (v2-badmigrate): migrate.js exits 42 and the schema stays as it was', async () => {
  const before = await query(data, SCHEMA_SQL)
  expect(before.map((t) => t.name)).toEqual(['notes'])
  const r = await oneOff(bad, data, NODE_APP.migrate)
  expect(r.exitCode).toBe(NODE_APP.exit.migrationFailed)
  expect(r.stdout).toContain('migrate v2-badmigrate: applying 002_notes_author\n')
  expect(r.stderr).toContain('migrate v2-badmigrate: migration 004_import_legacy_jobs failed: no such table: legacy_jobs\n')
  expect(r.stderr).toContain('rolled back: the schema is unchanged')
  expect(await query(data, SCHEMA_SQL)).toEqual(before)
  expect((await oneOff(v2, data, NODE_APP.server)).exitCode).toBe(3) // still not migrated
})

test("v2's migrate.js as a one-off container, twice: each migration applied once, both runs counted", async () => {
  const first = await oneOff(v2, data, NODE_APP.migrate)
  expect(first.exitCode).toBe(0)
  expect(first.stdout).toContain('migrate v2: applied 3 migration(s): 001_notes, 002_notes_author, 003_jobs')
  const second = await oneOff(v2, data, NODE_APP.migrate)
  expect(second.exitCode).toBe(0)
  expect(second.stdout).toContain('migrate v2: run 2 on /data/app.db')
  expect(second.stdout).toContain('up to date: nothing to apply')

  expect(await query(data, 'SELECT id, run FROM schema_migrations ORDER BY id')).toEqual([
    { id: '001_notes', run: 1 }, { id: '002_notes_author', run: 1 }, { id: '003_jobs', run: 1 }
  ])
  expect(await query(data, 'SELECT run, version, applied FROM migrate_runs ORDER BY run')).toEqual([
    { run: 1, version: 'v2', applied: 3 }, { run: 2, version: 'v2', applied: 0 }
  ])
  const names = (await query(data, SCHEMA_SQL)).map((t) => t.name)
  expect(names).toEqual(expect.arrayContaining(['jobs', 'migrate_runs', 'notes', 'schema_migrations']))
  // The broken release still fails once the real migrations are in, and changes nothing.
  const schema = await query(data, SCHEMA_SQL)
  expect((await oneOff(bad, data, NODE_APP.migrate)).exitCode).toBe(42)
  expect(await query(data, SCHEMA_SQL)).toEqual(schema)
})

test("v2 serves v1's notes with author 'unknown', and a worker drains the queue and stops on SIGTERM", async () => {
  const web = await serve(v2, data)
  expect((await httpGet(`${web.url}/`)).body).toBe('version=v2\n')
  expect(json(await postJson(`${web.url}/notes`, { body: 'third note', author: 'ada' }))).toEqual({ id: 3 })
  const notes = json<Record<string, unknown>[]>(await httpGet(`${web.url}/notes`))
  expect(notes.map(({ id, body, author }) => ({ id, body, author }))).toEqual([
    { id: 1, body: 'first note', author: 'unknown' },
    { id: 2, body: 'second note', author: 'unknown' },
    { id: 3, body: 'third note', author: 'ada' }
  ])

  for (const payload of ['email 1', 'email 2', 'email 3']) {
    expect((await httpRequest('POST', `${web.url}/jobs`, { body: payload })).status).toBe(201)
  }
  expect(json<{ state: string }[]>(await httpGet(`${web.url}/jobs`)).map((j) => j.state)).toEqual(['queued', 'queued', 'queued'])

  const worker = containerName('worker')
  await mustRunnerDocker(['run', '-d', '--name', worker, '-v', `${data}:${NODE_APP.dataDir}`, v2.ref, ...NODE_APP.worker])
  const deadline = Date.now() + 15_000
  let jobs: { id: number; payload: string; state: string; done_at: string | null }[] = []
  while (Date.now() < deadline) {
    jobs = json(await httpGet(`${web.url}/jobs`))
    if (jobs.every((j) => j.state === 'done')) break
    await sleep(100)
  }
  expect(jobs).toEqual([1, 2, 3].map((id) => expect.objectContaining({ id, payload: `email ${id}`, state: 'done', done_at: expect.any(String) })))

  const w = await stop(worker)
  expect(w.exitCode).toBe(0)
  expect(w.ms).toBeLessThan(8_000)
  expect(w.logs).toContain('worker v2: job 1 done: email 1\nworker v2: job 2 done: email 2\nworker v2: job 3 done: email 3\n')
  expect(w.logs).toContain('worker v2: SIGTERM: stopped')

  const s = await stop(web.name)
  expect(s.exitCode).toBe(0)
})

test('a worker with WORKER_CRASH=1 exits 4 at start, saying why', async () => {
  const r = await oneOff(v2, data, NODE_APP.worker, { WORKER_CRASH: '1' })
  expect(r.exitCode).toBe(NODE_APP.exit.workerCrash)
  expect(r.stderr).toBe('worker v2: crashing at start on purpose (WORKER_CRASH=1)\n')
})

test('v1 still serves on the migrated volume: a rollback after the release keeps working', async () => {
  const web = await serve(v1, data)
  expect((await httpGet(`${web.url}/`)).body).toBe('version=v1\n')
  expect(json(await httpRequest('POST', `${web.url}/notes`, { body: 'written by v1 again' }))).toEqual({ id: 4 })
  expect(json<{ body: string }[]>(await httpGet(`${web.url}/notes`)).map((n) => n.body)).toEqual([
    'first note', 'second note', 'third note', 'written by v1 again'
  ])
  expect((await stop(web.name)).exitCode).toBe(0)
  // The column's default gives v1's rows an author for v2.
  expect(await query(data, 'SELECT author FROM notes WHERE id = 4')).toEqual([{ author: 'unknown' }])
})

test('the release command runs while v1 serves and writes, as in a blue-green release: no v1 request fails', async () => {
  const volume = await newVolume('live')
  const web = await serve(v1, volume)
  let stopWriting = false
  const writes = { ok: 0, failed: [] as string[] }
  const writer = (async () => {
    for (let i = 0; !stopWriting && i < 5_000; i++) {
      const r = await httpRequest('POST', `${web.url}/notes`, { body: `live ${i}` }).catch((e: Error) => e)
      if (!(r instanceof Error) && r.status === 201) writes.ok++
      else writes.failed.push(r instanceof Error ? r.message : `${r.status} ${r.body}`)
    }
  })()
  await sleep(200)
  const migrated = await oneOff(v2, volume, NODE_APP.migrate)
  await sleep(200)
  stopWriting = true
  await writer
  expect(migrated.exitCode).toBe(0)
  // On a failure, what v1 and the migration logged say where the time went.
  const logs = writes.failed.length ? await runnerDocker(['logs', '--tail', '30', web.name]) : undefined
  const said = logs ? `v1: ${logs.stdout}${logs.stderr}\nmigration: ${migrated.stdout}${migrated.stderr}` : ''
  expect({ failed: writes.failed, said }).toEqual({ failed: [], said: '' })
  expect(writes.ok).toBeGreaterThan(10)
  expect((await stop(web.name)).exitCode).toBe(0)
  // Every note, written before or after the migration, reads back in v2 with the default author.
  const authors = await query(volume, 'SELECT author, COUNT(*) AS n FROM notes GROUP BY author')
  expect(authors).toEqual([{ author: 'unknown', n: writes.ok }])
})
