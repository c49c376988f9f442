// The README's inputs and outputs tables, generated from action.yml so the two cannot drift.
// `npm run docs` rewrites them in place; a unit test fails when they are stale.
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'

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

export function renderReadme(readme: string, actionYml: string): string {
  const tables = actionTables(actionYml)
  return fillSection(fillSection(readme, 'inputs', tables.inputs), 'outputs', tables.outputs)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = fileURLToPath(new URL('..', import.meta.url))
  const readme = readFileSync(`${root}README.md`, 'utf8')
  writeFileSync(`${root}README.md`, renderReadme(readme, readFileSync(`${root}action.yml`, 'utf8')))
}
