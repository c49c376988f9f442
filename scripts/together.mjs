// Runs commands side by side and fails when any fails. npm test puts the suites that mostly wait
// (the frozen-engine and cut-link tests of faults-runtime, on the sandbox's host) beside the
// suites of the namespaced servers (sandbox/nodes.sh): they share no engine, sshd or port, and
// CI takes the longer of the two rather than their sum. Each line is prefixed with its command's
// label, and each command's summary is printed again at the end so it is not lost in the mix.
import { spawn } from 'node:child_process'

const commands = process.argv.slice(2).map((arg) => {
  const at = arg.indexOf('=')
  if (at < 1) throw new Error(`together: give label=command, not ${arg}`)
  return { label: arg.slice(0, at), command: arg.slice(at + 1) }
})

function run({ label, command }) {
  return new Promise((resolve) => {
    const child = spawn(command, { shell: true, stdio: ['ignore', 'pipe', 'pipe'] })
    const tail = []
    const started = Date.now()
    for (const stream of [child.stdout, child.stderr]) {
      let rest = ''
      stream.setEncoding('utf8')
      stream.on('data', (chunk) => {
        const lines = (rest + chunk).split('\n')
        rest = lines.pop()
        for (const line of lines) {
          process.stdout.write(`[${label}] ${line}\n`)
          tail.push(line)
          if (tail.length > 12) tail.shift()
        }
      })
      stream.on('end', () => { if (rest) process.stdout.write(`[${label}] ${rest}\n`) })
    }
    child.on('close', (code, signal) => resolve({ label, code: code ?? 1, signal, tail, seconds: Math.round((Date.now() - started) / 1000) }))
  })
}

const results = await Promise.all(commands.map(run))
for (const { label, code, signal, tail, seconds } of results) {
  console.log(`\n[${label}] ${code === 0 ? 'passed' : `FAILED (exit ${code}${signal ? `, ${signal}` : ''})`} in ${seconds} s; its last lines:`)
  for (const line of tail) console.log(`[${label}]   ${line}`)
}
process.exit(results.some((result) => result.code !== 0) ? 1 : 0)
