// What server.js, migrate.js, worker.js and query.js share: the baked-in version, the database
// and its migrations. Node built-ins only (node:sqlite ships with Node 24).
import { existsSync, readFileSync } from 'node:fs'
import { DatabaseSync } from 'node:sqlite'

/** Exit codes, documented in README.md. */
export const EXIT = { OK: 0, ERROR: 1, NOT_MIGRATED: 3, WORKER_CRASH: 4, MIGRATION_FAILED: 42 }

// The version is baked into the image's app layer (version.json), not read from the environment:
// the image alone decides how the app behaves.
const baked = JSON.parse(readFileSync(new URL('./version.json', import.meta.url), 'utf8'))
/** e.g. 'v1', 'v2', 'v2-badmigrate'. */
export const VERSION = String(baked.version)
const parsed = /^v(\d+)(?:-(.+))?$/.exec(VERSION)
if (!parsed) throw new Error(`version.json: bad version ${JSON.stringify(VERSION)}`)
/** The schema generation this version needs: 1 (notes) or 2 (notes.author, jobs). */
export const LEVEL = Number(parsed[1])
/** The broken release: its migration 004 always fails (exit 42), after which nothing has changed. */
export const BAD_MIGRATION = parsed[2] === 'badmigrate'

export const DB_PATH = process.env.DB_PATH || '/data/app.db'
export const NOT_MIGRATED_MESSAGE = 'database not migrated: run /app/migrate.js'

/** One line on stdout, prefixed with the role, as a container log wants it. */
export function logger(role) {
  const prefix = `${role} ${VERSION}:`
  return {
    info: (msg) => console.log(`${prefix} ${msg}`),
    error: (msg) => console.error(`${prefix} ${msg}`)
  }
}

export const now = () => new Date().toISOString()

/**
 * Opens the database in WAL mode (readers never block the writer; the -wal and -shm files sit
 * next to it, so its directory must be writable) with a busy timeout, as a server, a worker and
 * a release command share the one file.
 */
export function openDb({ mustExist = false, readOnly = false } = {}) {
  if ((mustExist || readOnly) && !existsSync(DB_PATH)) return undefined
  const db = new DatabaseSync(DB_PATH, { readOnly })
  db.exec('PRAGMA busy_timeout = 5000')
  if (!readOnly) db.exec('PRAGMA journal_mode = WAL')
  return db
}

/** v1 created its table itself, before this app had migrations. */
export const V1_SCHEMA = 'CREATE TABLE IF NOT EXISTS notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL, created_at TEXT)'

/**
 * Ordered migrations; a version applies those of its level and below. The author column's
 * default backfills the old rows, and the rows v1 still writes while v2 is being released.
 */
export const MIGRATIONS = [
  { id: '001_notes', level: 1, sql: V1_SCHEMA },
  { id: '002_notes_author', level: 2, sql: "ALTER TABLE notes ADD COLUMN author TEXT NOT NULL DEFAULT 'unknown'" },
  {
    id: '003_jobs',
    level: 2,
    sql: "CREATE TABLE jobs (id INTEGER PRIMARY KEY, payload TEXT, state TEXT NOT NULL DEFAULT 'queued', created_at TEXT, done_at TEXT)"
  },
  // Only in the -badmigrate release: it reads a table that does not exist, so it fails every time.
  { id: '004_import_legacy_jobs', level: 2, bad: true, sql: 'INSERT INTO jobs (payload) SELECT payload FROM legacy_jobs' }
]

/** The migrations this version applies (migrate.js) and needs (server.js, worker.js), in order. */
export function wantedMigrations() {
  return MIGRATIONS.filter((m) => m.level <= LEVEL && (!m.bad || BAD_MIGRATION))
}

function hasTable(db, name) {
  return db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(name) !== undefined
}

/** Ids of the migrations recorded in schema_migrations (none when the table is missing). */
export function appliedMigrations(db) {
  if (!hasTable(db, 'schema_migrations')) return new Set()
  return new Set(db.prepare('SELECT id FROM schema_migrations').all().map((r) => r.id))
}

/** Whether every migration this version needs is recorded. */
export function isMigrated(db) {
  const applied = appliedMigrations(db)
  return wantedMigrations().every((m) => applied.has(m.id))
}

/** Registers SIGTERM and SIGINT (PID 1 has no default action for them) to call `stop` once. */
export function onStopSignal(stop) {
  let stopping = false
  for (const signal of ['SIGTERM', 'SIGINT']) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      stop(signal)
    })
  }
}
