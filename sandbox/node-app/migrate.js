// node /app/migrate.js: the release command. Applies this version's pending migrations in one
// transaction, so it either applies them all or changes nothing. Idempotent; every run that gets
// through is counted in migrate_runs, every migration recorded once in schema_migrations.
import {
  DB_PATH, EXIT, MIGRATIONS, VERSION, appliedMigrations, logger, now, openDb, wantedMigrations
} from './lib.js'

const log = logger('migrate')

let db
try {
  db = openDb()
} catch (e) {
  log.error(`cannot migrate: cannot open the database ${DB_PATH} as uid ${process.getuid()}: ${e.message}`)
  process.exit(EXIT.ERROR)
}

let step = 'begin'
try {
  db.exec('BEGIN IMMEDIATE')
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (id TEXT PRIMARY KEY, applied_at TEXT NOT NULL, run INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS migrate_runs (run INTEGER PRIMARY KEY, at TEXT NOT NULL, version TEXT NOT NULL, applied INTEGER NOT NULL)`)
  const run = Number(db.prepare('SELECT COALESCE(MAX(run), 0) + 1 AS run FROM migrate_runs').get().run)
  log.info(`run ${run} on ${DB_PATH}`)
  const applied = appliedMigrations(db)
  const pending = wantedMigrations().filter((m) => !applied.has(m.id))
  const known = new Set(wantedMigrations().map((m) => m.id))
  const unknown = [...applied].filter((id) => !known.has(id))
  if (unknown.length) log.info(`the database also has migrations this version does not know: ${unknown.join(', ')}`)
  const record = db.prepare('INSERT INTO schema_migrations (id, applied_at, run) VALUES (?, ?, ?)')
  for (const m of pending) {
    step = m.id
    log.info(`applying ${m.id}`)
    db.exec(m.sql)
    record.run(m.id, now(), run)
  }
  step = 'commit'
  db.prepare('INSERT INTO migrate_runs (run, at, version, applied) VALUES (?, ?, ?, ?)').run(run, now(), VERSION, pending.length)
  db.exec('COMMIT')
  log.info(pending.length ? `applied ${pending.length} migration(s): ${pending.map((m) => m.id).join(', ')}` : 'up to date: nothing to apply')
  db.close()
  process.exit(EXIT.OK)
} catch (e) {
  if (db.isTransaction) db.exec('ROLLBACK')
  db.close()
  log.error(`migration ${step} failed: ${e.message}`)
  log.error('rolled back: the schema is unchanged')
  // 42 is the broken release's own failure; anything else (busy, disk full, ...) is 1.
  process.exit(MIGRATIONS.find((m) => m.id === step)?.bad ? EXIT.MIGRATION_FAILED : EXIT.ERROR)
}

