import { readFileSync } from 'node:fs'
import { renderReadme } from '../scripts/action-docs.js'

describe('README', () => {
  it('has the inputs and outputs tables of action.yml (npm run docs)', () => {
    const readme = readFileSync('README.md', 'utf8')
    expect(renderReadme(readme, readFileSync('action.yml', 'utf8'))).toBe(readme)
  })

  it('names the test command that .ci/run runs', () => {
    expect(readFileSync('README.md', 'utf8')).toMatch(/^npm test\b/m)
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m)
  })
})
