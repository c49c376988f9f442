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

// A string literal in any of JavaScript's quotes, escapes included (a template only without ${}).
const LITERAL = [
  String.raw`'(?:[^'\\\n]|\\.)*'`,
  String.raw`"(?:[^"\\\n]|\\.)*"`,
  '`' + String.raw`(?:[^\\$\x60]|\\.|\$(?!\{))*` + '`'
].join('|')

/** The text of a literal LITERAL matched: quotes off, escapes resolved. */
export function literalText(literal: string): string {
  return literal.slice(1, -1).replace(/\\(.)/g, (_, char: string) => ({ n: '\n', t: '\t' })[char] ?? char)
}

/** "situation → outcome" of each test in `testSource`, a test.each's rows included. */
export function faultRows(testSource: string): [string, string][] {
  const rows: { at: number; row: [string, string] }[] = []
  const arrow = (at: number, name: string): void => {
    const split = name.indexOf(' → ')
    if (split > 0) rows.push({ at, row: [name.slice(0, split), name.slice(split + 3)] })
  }
  for (const match of testSource.matchAll(new RegExp(String.raw`\b(?:test|it)\(\s*(${LITERAL})`, 'g'))) arrow(match.index, literalText(match[1]))
  for (const each of testSource.matchAll(new RegExp(String.raw`\btest\.each\(\[([\s\S]*?)\]\)\(\s*(${LITERAL})`, 'g'))) {
    const name = literalText(each[2])
    if (!name.startsWith('%s → ')) continue
    for (const row of each[1].matchAll(new RegExp(String.raw`^\s*\[\s*(${LITERAL})`, 'gm'))) {
      arrow(each.index + row.index, `${literalText(row[1])}${name.slice(2)}`)
    }
  }
  // In the order of the source: a test.each's rows where it stands.
  return rows.sort((a, b) => a.at - b.at).map(({ row }) => row)
}

/**
 * The "What happens when…" table, from the names of the fault tests ("situation → outcome"),
 * so the README claims exactly what the e2e suite proves.
 */
export function faultsTable(testSource: string): string {
  const capital = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1)
  const rows = faultRows(testSource)
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

/** The line under the table that names the files its rows come from, each a link. */
export function faultsFrom(): string {
  return `Rows from ${FAULT_TESTS.map((file) => `[\`${file.split('/').pop()}\`](${file})`).join(', ')}.`
}

export function renderReadme(readme: string, actionYml: string, faultsSource: string, swarmSource = readFileSync(SWARM_TESTS, 'utf8')): string {
  const tables = actionTables(actionYml)
  const filled = fillSection(fillSection(readme, 'inputs', tables.inputs), 'outputs', tables.outputs)
  const faults = `${faultsTable(faultsSource)}\n\n${faultsFrom()}`
  const swarm = fillSection(fillSection(filled, 'faults', faults), 'options', optionsTable())
  return fillSection(swarm, 'swarm-faults', faultsTable(swarmSource))
}

/** The Swarm's end-to-end tests (against the sandbox's nodes), whose names make the Swarm's own table. */
export const SWARM_TESTS = '__tests__/e2e-nodes/swarm.test.ts'

/**
 * The e2e files whose test names make the "What happens when…" table, in its order. Every e2e
 * test named "situation → outcome" must be in one of them (readme.test.ts checks).
 */
export const FAULT_TESTS = [
  '__tests__/e2e/keepalive.test.ts',
  '__tests__/e2e/https.test.ts',
  '__tests__/e2e/faults-runtime.test.ts',
  '__tests__/e2e/faults.test.ts',
  '__tests__/e2e/releases.test.ts',
  '__tests__/e2e/traffic.test.ts',
  '__tests__/e2e/proxy-upgrade.test.ts',
  '__tests__/e2e/real-app.test.ts'
]

/** The fault tests' sources, one after another. */
export function faultSources(root = ''): string {
  return FAULT_TESTS.map((file) => readFileSync(`${root}${file}`, 'utf8')).join('\n')
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const readme = readFileSync(`${root}README.md`, 'utf8')
  writeFileSync(`${root}README.md`, renderReadme(readme, readFileSync(`${root}action.yml`, 'utf8'), faultSources(root), readFileSync(`${root}${SWARM_TESTS}`, 'utf8')))
}
