import { readFileSync } from 'node:fs'
import { faultSources, faultsTable, renderReadme } from '../scripts/action-docs.js'

describe('README', () => {
  it('has the tables of action.yml and of the fault tests (npm run docs)', () => {
    const readme = readFileSync('README.md', 'utf8')
    expect(renderReadme(readme, readFileSync('action.yml', 'utf8'), faultSources())).toBe(readme)
  })

  it('lists every fault test in the What happens when table', () => {
    const table = faultsTable(faultSources())
    expect(table).toContain('| Requests of 8 s are in flight at the switch | each finishes on the old slot, none fails |')
    expect(table).toContain('| `image` carries shell syntax (`app:1;touch /tmp/bluegreen-pwned`) | refused before connecting |')
    expect(table).toContain('| 12 switches with keep-alive and closing clients | not one request fails, and no switch reloads nginx |')
    expect(table).toContain('| The network to the host is lost for good during the transfer |')
    expect(table.split('\n').length).toBeGreaterThan(40)
  })

  it('names the test command that .ci/run runs', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/^npm test\b/m)
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m)
  })
})
