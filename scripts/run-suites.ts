// Runs the end-to-end projects side by side: `e2e` (the sandbox's single host) and `nodes` (three
// servers in network namespaces, and their Swarm). They touch different servers, and each spends
// most of its time waiting on what it tests (a frozen engine, an idle socket, a lock's grace), so
// together they take about as long as the longer one instead of the sum. Within a project the
// suites still run one at a time (--runInBand): they share that project's servers.
// Each line is prefixed with its project; the exit code is non-zero when either project failed.
//   npx tsx scripts/run-suites.ts [e2e] [nodes]     (default: both)
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'

const ALL = ['e2e', 'nodes']
const projects = process.argv.slice(2).filter((arg) => ALL.includes(arg))
const chosen = projects.length > 0 ? projects : ALL
// Bounded: a hung project must not hold CI until its own limit.
const LIMIT_MS = 40 * 60_000

function runProject(project: string): Promise<{ project: string; code: number; seconds: number }> {
  const started = Date.now()
  const child = spawn(process.execPath, ['--experimental-vm-modules', 'node_modules/jest/bin/jest.js', '--selectProjects', project, '--runInBand'], {
    stdio: ['ignore', 'pipe', 'pipe']
  })
  const prefix = `[${project}] `
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => process.stdout.write(`${prefix}${line}\n`))
  }
  const timer = setTimeout(() => {
    process.stdout.write(`${prefix}still running after ${LIMIT_MS / 60_000} minutes: stopped\n`)
    child.kill('SIGTERM')
    setTimeout(() => child.kill('SIGKILL'), 10_000).unref()
  }, LIMIT_MS)
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({ project, code: code ?? (signal ? 1 : 0), seconds: Math.round((Date.now() - started) / 1000) })
    })
  })
}

void Promise.all(chosen.map(runProject)).then((results) => {
  for (const r of results) process.stdout.write(`${r.project}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds} s\n`)
  process.exit(results.some((r) => r.code !== 0) ? 1 : 0)
})
