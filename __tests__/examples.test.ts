import { readdirSync, readFileSync } from 'node:fs'
import { parse, parseDocument } from 'yaml'
import { parseInputs } from '../src/inputs.js'
import { formatLintError, loadActionlint, type Actionlint } from './support/actionlint.js'

// Every workflow in examples/ and .github/workflows/ must be valid YAML, pass actionlint, and
// use this action as action.yml declares it: known inputs only, the required ones given, known
// outputs only, and values that pass the action's own input checks.

interface Step {
  id?: string
  name?: string
  uses?: string
  with?: Record<string, unknown>
}

interface Workflow {
  jobs?: Record<string, { steps?: Step[] }>
}

interface ActionMetadata {
  inputs: Record<string, { required?: boolean; default?: string }>
  outputs: Record<string, unknown>
}

const PUBLISHED = 'bluegreen-deploy/bluegreen-deploy@v1'
const EXAMPLES = ['deploy.yml', 'https.yml', 'multi-host-matrix.yml', 'multi-host.yml', 'rollback-tag.yml', 'rollback.yml', 'swarm.yml', 'two-services.yml']

const action = parse(readFileSync('action.yml', 'utf8')) as ActionMetadata
const workflows = (dir: string): string[] =>
  readdirSync(dir)
    .filter((file) => /\.ya?ml$/.test(file))
    .sort()
    .map((file) => `${dir}/${file}`)
const exampleFiles = workflows('examples')
const allFiles = [...exampleFiles, ...workflows('.github/workflows')]

let actionlint: Actionlint
beforeAll(async () => {
  actionlint = await loadActionlint()
})

/** Steps that run this action: the published one, or `./` in this repository's own workflows. */
function ourSteps(workflow: Workflow): Array<{ where: string; step: Step }> {
  return Object.entries(workflow.jobs ?? {}).flatMap(([job, { steps }]) =>
    (steps ?? [])
      .map((step, index) => ({ where: `jobs.${job}.steps[${index}]${step.id ? ` (${step.id})` : ''}`, step }))
      .filter(({ step }) => step.uses === './' || step.uses?.startsWith('bluegreen-deploy/bluegreen-deploy@'))
  )
}

function withOf(step: Step): Record<string, string> {
  const given = Object.entries(step.with ?? {})
  return Object.fromEntries(given.map(([name, value]) => [name, value == null ? '' : String(value)]))
}

const isTrue = (value: string | undefined): boolean => ['true', 'True', 'TRUE'].includes(value ?? '')

/** Unknown inputs, and required inputs left out (image may be, with rollback: true). */
function inputProblems(where: string, step: Step): string[] {
  const given = withOf(step)
  const problems = Object.keys(given)
    .filter((name) => !(name in action.inputs))
    .map((name) => `${where}: "${name}" is not an input of action.yml`)
  const required = Object.entries(action.inputs)
    .filter(([, input]) => input.required)
    .map(([name]) => name)
  if (!isTrue(given.rollback)) required.push('image')
  for (const name of required) {
    if (!given[name]?.trim()) problems.push(`${where}: required input "${name}" is missing`)
  }
  return problems
}

/** steps.<id>.outputs.<name> anywhere in the file, for each of our steps with an id. */
function outputProblems(text: string, steps: Array<{ where: string; step: Step }>): string[] {
  return steps.flatMap(({ where, step }) => {
    if (!step.id) return []
    const read = text.matchAll(new RegExp(`steps\\.${step.id}\\.outputs\\.([A-Za-z0-9_-]+)`, 'g'))
    return [...read]
      .map((match) => match[1])
      .filter((name) => !(name in action.outputs))
      .map((name) => `${where}: steps.${step.id}.outputs.${name} is not an output of action.yml`)
  })
}

const EXPRESSION = /\$\{\{[\s\S]*?\}\}/g
const KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----'
// A value that is an expression as a whole stands for a valid value of its input; rollback for
// false, the case that needs the most inputs.
const WHOLE: Record<string, string> = {
  host: 'host.example.com',
  key: KEY,
  passphrase: 'secret',
  fingerprint: `SHA256:${'A'.repeat(43)}`,
  'known-hosts': 'host.example.com ssh-ed25519 AAAA',
  image: 'app:tag',
  rollback: 'false'
}

/** What the action itself would refuse in the literal parts of the values (expressions stubbed). */
function validationProblems(where: string, step: Step): string[] {
  const raw = Object.fromEntries(
    Object.entries(withOf(step)).map(([name, value]) => {
      const expressions = value.match(EXPRESSION) ?? []
      if (expressions.length === 1 && value.trim() === expressions[0]) {
        const fallback = action.inputs[name]?.default ?? ''
        return [name, WHOLE[name] ?? (/^\d+$/.test(fallback) ? fallback : 'x0')]
      }
      return [name, value.replace(EXPRESSION, 'x0')]
    })
  )
  try {
    parseInputs(raw)
    return []
  } catch (error) {
    return [`${where}: ${(error as Error).message}`]
  }
}

function actionProblems(text: string): string[] {
  const steps = ourSteps(parse(text) as Workflow)
  return [
    ...steps.flatMap(({ where, step }) => [...inputProblems(where, step), ...validationProblems(where, step)]),
    ...outputProblems(text, steps)
  ]
}

/** The comment lines before the first line of YAML. */
function header(text: string): string {
  const lines = text.split('\n')
  const end = lines.findIndex((line) => !line.startsWith('#'))
  return lines.slice(0, end).join('\n')
}

describe('examples/', () => {
  it('has the documented examples', () => {
    expect(exampleFiles).toEqual(EXAMPLES.map((file) => `examples/${file}`))
  })

  describe.each(exampleFiles)('%s', (file) => {
    const text = readFileSync(file, 'utf8')

    it(`uses ${PUBLISHED}, as the README does`, () => {
      const steps = ourSteps(parse(text) as Workflow)
      expect(steps.length).toBeGreaterThan(0)
      expect(steps.map(({ step }) => step.uses)).toEqual(steps.map(() => PUBLISHED))
    })

    it('opens with a comment that names every secret and variable it reads', () => {
      const head = header(text)
      expect(head).toMatch(/^# \S/)
      const read = text.slice(head.length).matchAll(/\b(?:secrets|vars)\.([A-Za-z_][A-Za-z0-9_]*)/g)
      const names = [...read].map((match) => match[1])
      const missing = [...new Set(names)].filter((name) => !new RegExp(`\\b${name}\\b`).test(head))
      expect(missing).toEqual([])
    })
  })
})

describe.each(allFiles)('workflow %s', (file) => {
  const text = readFileSync(file, 'utf8')

  it('is valid YAML', () => {
    const document = parseDocument(text, { prettyErrors: true })
    expect([...document.errors, ...document.warnings].map((problem) => problem.message)).toEqual([])
  })

  it('passes actionlint', () => {
    expect(actionlint(text, file).map((error) => formatLintError(file, error))).toEqual([])
  })

  it('uses the inputs and outputs of action.yml, with values the action accepts', () => {
    expect(actionProblems(text)).toEqual([])
  })
})

describe('the checks themselves', () => {
  it('actionlint finds a misspelled key, an unknown step and an unknown runner', () => {
    const broken = [
      'on: push',
      'jobs:',
      '  deploy:',
      '    runs-on: ubuntu-lates',
      '    concurency: production',
      '    steps:',
      '      - run: echo "${{ steps.nope.outputs.slot }}"'
    ].join('\n')
    const kinds = actionlint(broken, 'broken.yml').map((error) => error.kind)
    expect(kinds.sort()).toEqual(['expression', 'runner-label', 'syntax-check'])
  })

  /** A workflow whose one step runs this action with these `with:` lines, then the other steps. */
  const using = (inputs: string[], steps: string[] = []): string =>
    [
      'on: push',
      'jobs:',
      '  deploy:',
      '    runs-on: ubuntu-latest',
      '    steps:',
      '      - id: deploy',
      `        uses: ${PUBLISHED}`,
      '        with:',
      ...inputs.map((line) => `          ${line}`),
      ...steps.map((line) => `      ${line}`)
    ].join('\n')
  const connection = ['host: ${{ secrets.DEPLOY_HOST }}', 'key: ${{ secrets.DEPLOY_SSH_KEY }}']

  it('passes a correct step', () => {
    expect(actionProblems(using([...connection, 'image: app:${{ github.sha }}']))).toEqual([])
    expect(actionProblems(using([...connection, 'image: ${{ env.IMAGE }}', 'port: ${{ vars.PORT }}']))).toEqual([])
  })

  it('finds an unknown input, a missing required one and an unknown output', () => {
    const broken = using(
      ['hots: ${{ secrets.DEPLOY_HOST }}', 'key: ${{ secrets.DEPLOY_SSH_KEY }}', 'image: app:${{ github.sha }}'],
      ['- run: echo "${{ steps.deploy.outputs.previous }}"']
    )
    expect(actionProblems(broken)).toEqual([
      'jobs.deploy.steps[0] (deploy): "hots" is not an input of action.yml',
      'jobs.deploy.steps[0] (deploy): host: required (the server name or IP address), or hosts for several servers',
      'jobs.deploy.steps[0] (deploy): steps.deploy.outputs.previous is not an output of action.yml'
    ])
  })

  it('finds a literal value the action refuses, with expressions stubbed', () => {
    expect(actionProblems(using([...connection, 'image: app:${{ github.sha }}', 'health-path: healthz']))).toEqual([
      'jobs.deploy.steps[0] (deploy): health-path: expected a URL path starting with / without spaces or quotes, got "healthz"'
    ])
  })

  it('needs image unless rollback is true', () => {
    expect(actionProblems(using([...connection, 'rollback: true', 'service: web']))).toEqual([])
    expect(actionProblems(using([...connection, 'rollback: ${{ inputs.back }}', 'service: web']))).toEqual([
      'jobs.deploy.steps[0] (deploy): required input "image" is missing',
      'jobs.deploy.steps[0] (deploy): image: required (name:tag or name@sha256:...)'
    ])
  })
})
