// ssh2 ships an emscripten module that reads __dirname at load time; an ESM bundle has none.
import { fileURLToPath } from 'node:url'
import { dirname } from 'node:path'

const scope = globalThis as { __filename?: string; __dirname?: string }
scope.__filename ??= fileURLToPath(import.meta.url)
scope.__dirname ??= dirname(scope.__filename)
