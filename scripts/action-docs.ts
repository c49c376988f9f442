// The README's generated tables: inputs and outputs from action.yml, "What happens when…" from
// the fault tests' names, and the options allowlist from src/runtime/options.ts, so none can
// drift. `npm run docs` rewrites them in place; a unit test fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { ALLOWED } from '../src/runtime/options.js'

interface ActionYml {
  inputs: Record<string, { description: string; required?: boolean; default?: string }>
  outputs: Record<string, { description: string }>
}

const cell = (text: string): string => text.replace(/\|/g, '\\|').replace(/\n/g, ' ').trim()

export function actionTables(actionYml: string): { inputs: string; outputs: string } {
  const action = parse(actionYml) as ActionYml
  const inputs = [
    '| Input | Required | Default | Description |',
    '|---|---|---|---|',
    ...Object.entries(action.inputs).map(([name, input]) => {
      const value = input.default === undefined || input.default === '' ? '' : `\`${input.default}\``
      return `| \`${name}\` | ${input.required ? 'yes' : 'no'} | ${value} | ${cell(input.description)} |`
    })
  ].join('\n')
  const outputs = [
    '| Output | Description |',
    '|---|---|',
    ...Object.entries(action.outputs).map(([name, output]) => `| \`${name}\` | ${cell(output.description)} |`)
  ].join('\n')
  return { inputs, outputs }
}

/** Replaces the text between `<!-- name:start -->` and `<!-- name:end -->`. */
export function fillSection(readme: string, name: string, body: string): string {
  const pattern = new RegExp(`(<!-- ${name}:start -->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`)
  if (!pattern.test(readme)) throw new Error(`README.md has no ${name} section`)
  return readme.replace(pattern, `$1${body}\n$2`)
}

/**
 * The "What happens when…" table, from the names of the fault tests ("situation → outcome"),
 * so the README claims exactly what the e2e suite proves.
 */
export function faultsTable(testSource: string): string {
  const rows: [string, string][] = []
  for (const match of testSource.matchAll(/test\('([^']+?) → ([^']+)'/g)) rows.push([match[1], match[2]])
  for (const each of testSource.matchAll(/test\.each\(\[([\s\S]*?)\]\)\('%s → ([^']+)'/g)) {
    for (const match of each[1].matchAll(/^\s*\['([^']+)',/gm)) rows.push([match[1], each[2]])
  }
  const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)
  return ['| When… | What happens |', '|---|---|', ...rows.map(([when, then]) => `| ${capital(cell(when))} | ${cell(then)} |`)].join('\n')
}

/** The flags the options input allows, from src/runtime/options.ts, with an example line each. */
export function optionsTable(): string {
  return [
    '| Flag | For | Example |',
    '|---|---|---|',
    ...Object.entries(ALLOWED).map(([flag, allowed]) => `| \`${flag}\` | ${cell(allowed.purpose)} | \`${cell(allowed.example)}\` |`)
  ].join('\n')
}

export function renderReadme(readme: string, actionYml: string, faultsSource: string, swarmSource = readFileSync(SWARM_TESTS, 'utf8')): string {
  const tables = actionTables(actionYml)
  const filled = fillSection(fillSection(readme, 'inputs', tables.inputs), 'outputs', tables.outputs)
  const faults = fillSection(fillSection(filled, 'faults', faultsTable(faultsSource)), 'options', optionsTable())
  return fillSection(faults, 'swarm-faults', faultsTable(swarmSource))
}

/** The Swarm's end-to-end tests (against the sandbox's nodes), whose names make the Swarm's own table. */
export const SWARM_TESTS = '__tests__/e2e-nodes/swarm.test.ts'

/** The e2e files whose test names make the "What happens when…" table, in its order. */
export const FAULT_TESTS = ['__tests__/e2e/keepalive.test.ts', '__tests__/e2e/faults-runtime.test.ts', '__tests__/e2e/faults.test.ts']

/** The fault tests' sources, one after another. */
export function faultSources(root = ''): string {
  return FAULT_TESTS.map((file) => readFileSync(`${root}${file}`, 'utf8')).join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const readme = readFileSync(`${root}README.md`, 'utf8')
  writeFileSync(`${root}README.md`, renderReadme(readme, readFileSync(`${root}action.yml`, 'utf8'), faultSources(root), readFileSync(`${root}${SWARM_TESTS}`, 'utf8')))
}
