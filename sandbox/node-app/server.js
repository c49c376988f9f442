// node /app/server.js: the web process. HTTP on $PORT (default 8080), data in $DB_PATH.
import http from 'node:http'
import { hostname } from 'node:os'
import {
  DB_PATH, EXIT, LEVEL, NOT_MIGRATED_MESSAGE, V1_SCHEMA, VERSION, isMigrated, logger, now, onStopSignal, openDb
} from './lib.js'

const log = logger('server')
const PORT = Number(process.env.PORT || 8080)
/** How long in-flight requests get after SIGTERM before their connections are cut. */
const DRAIN_TIMEOUT_MS = Number(process.env.DRAIN_TIMEOUT_MS || 60_000)
const MAX_BODY = 64 * 1024
const MAX_SLOW_SECONDS = 300

let db
try {
  if (LEVEL >= 2) {
    // v2 needs the release command to have run; it never creates or changes the schema itself.
    db = openDb({ mustExist: true })
    if (!db || !isMigrated(db)) {
      console.error(NOT_MIGRATED_MESSAGE)
      db?.close()
      process.exit(EXIT.NOT_MIGRATED)
    }
  } else {
    db = openDb()
    db.exec(V1_SCHEMA)
  }
} catch (e) {
  log.error(`cannot open the database ${DB_PATH} as uid ${process.getuid()}: ${e.message}`)
  process.exit(EXIT.ERROR)
}

const sql = {
  notes: db.prepare(LEVEL >= 2
    ? 'SELECT id, body, author, created_at FROM notes ORDER BY id'
    : 'SELECT id, body, created_at FROM notes ORDER BY id'),
  addNote: LEVEL >= 2
    ? db.prepare('INSERT INTO notes (body, author, created_at) VALUES (?, ?, ?)')
    : db.prepare('INSERT INTO notes (body, created_at) VALUES (?, ?)'),
  jobs: LEVEL >= 2 ? db.prepare('SELECT id, payload, state, created_at, done_at FROM jobs ORDER BY id') : undefined,
  addJob: LEVEL >= 2 ? db.prepare("INSERT INTO jobs (payload, state, created_at) VALUES (?, 'queued', ?)") : undefined
}

let stopping = false
let inFlight = 0

function send(res, status, body, type = 'text/plain; charset=utf-8') {
  const text = typeof body === 'string' ? body : JSON.stringify(body) + '\n'
  if (typeof body !== 'string') type = 'application/json'
  // Once draining, every answer closes its connection so the server can finish.
  if (stopping) res.setHeader('Connection', 'close')
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text) })
  res.end(text)
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = []
    let size = 0
    req.on('data', (c) => {
      size += c.length
      if (size > MAX_BODY) reject(Object.assign(new Error('body too large'), { status: 413 }))
      else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** A JSON body's `field`, or the whole text body. */
async function bodyField(req, field) {
  const text = await readBody(req)
  if (!/^application\/json\b/.test(req.headers['content-type'] || '')) return { value: text, json: {} }
  let json
  try {
    json = JSON.parse(text)
  } catch {
    throw Object.assign(new Error('invalid JSON'), { status: 400 })
  }
  return { value: typeof json[field] === 'string' ? json[field] : '', json }
}

const routes = {
  'GET /': (req, res) => send(res, 200, `version=${VERSION}\n`),
  'GET /health': (req, res) => send(res, db.isOpen ? 200 : 503, db.isOpen ? 'ok\n' : 'database closed\n'),
  'GET /info': (req, res) => send(res, 200, {
    version: VERSION, level: LEVEL, node: process.version, pid: process.pid, uid: process.getuid(), gid: process.getgid(),
    hostname: hostname(), db: DB_PATH, port: PORT
  }),
  'GET /notes': (req, res) => send(res, 200, sql.notes.all()),
  'POST /notes': async (req, res, url) => {
    const { value, json } = await bodyField(req, 'body')
    if (!value) return send(res, 400, 'empty note\n')
    const author = typeof json.author === 'string' ? json.author : url.searchParams.get('author') || 'unknown'
    const r = LEVEL >= 2 ? sql.addNote.run(value, author, now()) : sql.addNote.run(value, now())
    send(res, 201, { id: Number(r.lastInsertRowid) })
  },
  'GET /jobs': (req, res) => (sql.jobs ? send(res, 200, sql.jobs.all()) : send(res, 404, `no job queue in ${VERSION}\n`)),
  'POST /jobs': async (req, res) => {
    if (!sql.addJob) return send(res, 404, `no job queue in ${VERSION}\n`)
    const { value } = await bodyField(req, 'payload')
    const r = sql.addJob.run(value, now())
    send(res, 201, { id: Number(r.lastInsertRowid) })
  },
  // /env?NAME: the value of $NAME, so a test sees the env it gave reach the container.
  'GET /env': (req, res, url) => {
    const name = decodeURIComponent(url.search.slice(1))
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return send(res, 400, 'bad variable name\n')
    if (!(name in process.env)) return send(res, 404, `${name} is not set\n`)
    send(res, 200, `${process.env[name]}\n`)
  },
  // /slow?SECONDS answers after SECONDS (at most 300): a request in flight for drain tests.
  'GET /slow': async (req, res, url) => {
    const s = Number(url.search.slice(1) || 1)
    const seconds = Number.isFinite(s) && s >= 0 ? Math.min(s, MAX_SLOW_SECONDS) : 1
    await new Promise((r) => setTimeout(r, seconds * 1000))
    send(res, 200, `slow done version=${VERSION}\n`)
  }
}
// The busybox fixtures' paths (fixtures.ts), so load.ts's helpers work against this app too.
routes['GET /cgi-bin/env'] = routes['GET /env']
routes['GET /cgi-bin/slow'] = routes['GET /slow']

const server = http.createServer(async (req, res) => {
  inFlight++
  res.on('close', () => inFlight--)
  const url = new URL(req.url || '/', 'http://app')
  const route = routes[`${req.method} ${url.pathname}`]
  try {
    if (route) await route(req, res, url)
    else if (Object.keys(routes).some((k) => k.endsWith(` ${url.pathname}`))) send(res, 405, 'method not allowed\n')
    else send(res, 404, 'not found\n')
  } catch (e) {
    if (!e.status) log.error(`${req.method} ${url.pathname}: ${e.stack || e.message}`)
    if (!res.headersSent) send(res, e.status || 500, `${e.message}\n`)
    else res.destroy()
  }
})
// Longer than a proxy's idle upstream keep-alive (nginx: 60 s), so the app never closes a
// connection the proxy is about to reuse; headersTimeout must exceed it.
server.keepAliveTimeout = 65_000
server.headersTimeout = 66_000

server.on('error', (e) => {
  log.error(`cannot listen on :${PORT}: ${e.message}`)
  process.exit(EXIT.ERROR)
})

server.listen(PORT, () => {
  log.info(`listening on :${PORT} (database ${DB_PATH}, uid ${process.getuid()}, node ${process.version})`)
})

onStopSignal((signal) => {
  stopping = true
  log.info(`${signal}: no new connections; draining ${inFlight} request(s) in flight`)
  const cut = setTimeout(() => {
    log.error(`drain timeout after ${DRAIN_TIMEOUT_MS} ms: closing ${inFlight} request(s)`)
    server.closeAllConnections()
  }, DRAIN_TIMEOUT_MS)
  cut.unref()
  server.close(() => {
    clearTimeout(cut)
    db.close()
    log.info('stopped')
    process.exit(EXIT.OK)
  })
  server.closeIdleConnections()
})
