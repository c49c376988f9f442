// node /app/query.js 'SQL' [params...]: runs one read-only statement and prints its rows as JSON,
// so a test can look into the volume's database (schema, schema_migrations, ...) without sqlite3.
import { DB_PATH, EXIT, openDb } from './lib.js'

const [sqlText, ...params] = process.argv.slice(2)
if (!sqlText) {
  console.error('usage: node /app/query.js SQL [params...]')
  process.exit(EXIT.ERROR)
}
try {
  const db = openDb({ readOnly: true })
  if (!db) {
    console.error(`query: no database at ${DB_PATH}`)
    process.exit(EXIT.ERROR)
  }
  console.log(JSON.stringify(db.prepare(sqlText).all(...params)))
  db.close()
} catch (e) {
  console.error(`query: ${e.message}`)
  process.exit(EXIT.ERROR)
}
