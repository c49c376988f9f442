import { readFileSync } from 'node:fs'
import { faultsTable, renderReadme } from '../scripts/action-docs.js'

describe('README', () => {
  it('has the tables of action.yml and of the fault tests (npm run docs)', () => {
    const readme = readFileSync('README.md', 'utf8')
    const faults = readFileSync('__tests__/e2e/faults.test.ts', 'utf8')
    expect(renderReadme(readme, readFileSync('action.yml', 'utf8'), faults)).toBe(readme)
  })

  it('lists every fault test in the What happens when table', () => {
    const table = faultsTable(readFileSync('__tests__/e2e/faults.test.ts', 'utf8'))
    expect(table).toContain('| Requests of 8 s are in flight at the switch | each finishes on the old slot, none fails |')
    expect(table).toContain('| `image` carries shell syntax (`app:1;touch /tmp/bluegreen-pwned`) | refused before connecting |')
    expect(table.split('\n').length).toBeGreaterThan(25)
  })

  it('names the test command that .ci/run runs', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/^npm test\b/m)
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m)
  })
})
