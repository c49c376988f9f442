import { readdirSync, readFileSync } from 'node:fs'
import { FAULT_TESTS, faultRows, faultSources, faultsTable, renderReadme } from '../scripts/action-docs.js'

const E2E = '__tests__/e2e'

/**
 * How many tests a file names "situation → outcome", by a scan looser than the generator's: a
 * line that opens a test and holds an arrow, whatever its quotes, and each row of a test.each
 * whose name is "%s → ...".
 */
function arrowTests(source: string): number {
  const lines = source.split('\n')
  const single = lines.filter((line) => /^\s*(?:test|it)\(/.test(line) && line.includes(' → ')).length
  let rows = 0
  for (const each of source.matchAll(/^\s*test\.each\(\[\n([\s\S]*?)\n\s*\]\)\(.%s → /gm)) {
    rows += each[1].split('\n').filter((line) => /^\s*\[/.test(line)).length
  }
  return single + rows
}

describe('README', () => {
  it('has the tables of action.yml and of the fault tests (npm run docs)', () => {
    const readme = readFileSync('README.md', 'utf8')
    expect(renderReadme(readme, readFileSync('action.yml', 'utf8'), faultSources())).toBe(readme)
  })

  it('lists every fault test in the What happens when table', () => {
    const table = faultsTable(faultSources())
    expect(table).toContain('| Requests of 8 s are in flight at the switch | each finishes on the old slot, none fails, nor any of keep-alive and closing clients |')
    expect(table).toContain('| `image` carries shell syntax (`app:1;touch /tmp/bluegreen-pwned`) | refused before connecting |')
    expect(table).toContain("| The host's dockerd is frozen for 20 s while the app serves |")
    expect(table).toContain('| The network to the host is lost for good during the transfer |')
    expect(table.split('\n').length).toBeGreaterThan(40)
  })

  it('has a row for every e2e test named "situation → outcome", whatever quotes its name has', () => {
    const files = readdirSync(E2E).filter((name) => name.endsWith('.test.ts')).map((name) => `${E2E}/${name}`)
    const named = files.filter((file) => arrowTests(readFileSync(file, 'utf8')) > 0)
    expect(FAULT_TESTS.slice().sort()).toEqual(named.sort())
    for (const file of named) {
      const source = readFileSync(file, 'utf8')
      expect({ file, rows: faultRows(source).length }).toEqual({ file, rows: arrowTests(source) })
    }
  })

  it('reads test names in single, double and template quotes, with escaped quotes in them', () => {
    const source = [
      `test("the host's disk → it says so", run)`,
      `test('a \\'quoted\\' \\\\ name → fine')`,
      'test(`a template → read too`)',
      'test.each([',
      `  ['one', 1],`,
      `  ["two's", 2]`,
      `])('%s → refused', check)`
    ].join('\n')
    expect(faultRows(source)).toEqual([
      ["the host's disk", 'it says so'],
      ["a 'quoted' \\ name", 'fine'],
      ['a template', 'read too'],
      ['one', 'refused'],
      ["two's", 'refused']
    ])
  })

  it('names the test command that .ci/run runs', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/^npm test\b/m)
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m)
  })
})
