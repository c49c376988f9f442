import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The renewal container's program is the second bundle of the build (dist/renew/index.js, from
// src/renew.ts), beside the action's own dist/index.js: the running action reads it from there.
// From the sources (tests), the committed dist/ is the one.
export async function readRenewScript(): Promise<Buffer> {
  const here = dirname(fileURLToPath(import.meta.url))
  const candidates = [['renew', 'index.js'], ['..', '..', 'dist', 'renew', 'index.js']].map((parts) => join(here, ...parts))
  for (const path of candidates) {
    const script = await readFile(path).catch(() => undefined)
    if (script) return script
  }
  throw new Error(`the renewal program is missing beside the action (${candidates[0]}); the action's dist/ is incomplete`)
}
