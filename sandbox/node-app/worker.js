// node /app/worker.js: the queue worker. Every ~200 ms it takes the queued jobs one by one, marks
// each done and logs it. v1 has no queue: its worker idles until stopped. WORKER_CRASH=1 makes it
// exit 4 at start, as a worker with a bad config would.
import { DB_PATH, EXIT, LEVEL, NOT_MIGRATED_MESSAGE, isMigrated, logger, now, onStopSignal, openDb } from './lib.js'

const log = logger('worker')
const POLL_MS = Number(process.env.WORKER_POLL_MS || 200)

if (process.env.WORKER_CRASH === '1') {
  log.error('crashing at start on purpose (WORKER_CRASH=1)')
  process.exit(EXIT.WORKER_CRASH)
}

let db
let timer
if (LEVEL >= 2) {
  try {
    db = openDb({ mustExist: true })
  } catch (e) {
    log.error(`cannot open the database ${DB_PATH} as uid ${process.getuid()}: ${e.message}`)
    process.exit(EXIT.ERROR)
  }
  if (!db || !isMigrated(db)) {
    console.error(NOT_MIGRATED_MESSAGE)
    db?.close()
    process.exit(EXIT.NOT_MIGRATED)
  }
  const claim = db.prepare(`UPDATE jobs SET state = 'done', done_at = ?
WHERE id = (SELECT id FROM jobs WHERE state = 'queued' ORDER BY id LIMIT 1) RETURNING id, payload`)
  const tick = () => {
    try {
      for (let job = claim.get(now()); job; job = claim.get(now())) log.info(`job ${job.id} done: ${job.payload ?? ''}`)
    } catch (e) {
      log.error(`polling jobs failed: ${e.message}`) // e.g. busy beyond the timeout: try again next tick
    }
    timer = setTimeout(tick, POLL_MS)
  }
  log.info(`started: polling ${DB_PATH} every ${POLL_MS} ms`)
  tick()
} else {
  log.info('started: this version has no job queue; idling until stopped')
  timer = setInterval(() => undefined, 60_000)
}

onStopSignal((signal) => {
  clearTimeout(timer)
  clearInterval(timer)
  db?.close()
  log.info(`${signal}: stopped`)
  process.exit(EXIT.OK)
})
