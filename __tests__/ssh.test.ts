import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { bashCommand, checkPrivateKey, quote } from '../src/ssh/connection.js'
import { tempDir } from './support/temp-dir.js'

const nasty = ["plain", "it's", "a b", "$(touch /tmp/bg-pwned)", "`id`", "; rm -rf /", "\"double\"", "new\nline", "back\\slash", "''", "!bang", "*"]

describe('quote', () => {
  it.each(nasty)('hands %j to sh unchanged', (value) => {
    expect(execFileSync('sh', ['-c', `printf %s ${quote(value)}`]).toString()).toBe(value)
  })

  it('refuses NUL bytes', () => expect(() => quote('a\0b')).toThrow(/NUL/))
})

describe('bashCommand', () => {
  it('passes arguments as positional parameters, never as code', () => {
    const command = bashCommand('printf "%s|" "$@"', nasty)
    expect(execFileSync('sh', ['-c', command]).toString()).toBe(nasty.map((value) => `${value}|`).join(''))
  })

  it('stops at the first failing command', () => {
    const command = bashCommand('false\necho after')
    expect(() => execFileSync('sh', ['-c', command], { stdio: 'pipe' })).toThrow()
  })
})

describe('checkPrivateKey', () => {
  const dir = tempDir('bg-keys-')
  const keygen = (name: string, passphrase: string, ...extra: string[]) => {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-f', join(dir, name), ...extra])
    return readFileSync(join(dir, name), 'utf8')
  }
  const plain = keygen('plain', '')
  const locked = keygen('locked', 'correct horse')

  it('accepts a key, and an encrypted key with its passphrase', () => {
    expect(() => checkPrivateKey(plain, '')).not.toThrow()
    expect(() => checkPrivateKey(locked, 'correct horse')).not.toThrow()
  })

  it('names passphrase when it is missing or wrong', () => {
    expect(() => checkPrivateKey(locked, '')).toThrow(/^passphrase: the key is encrypted/)
    expect(() => checkPrivateKey(locked, 'wrong')).toThrow(/^passphrase: wrong passphrase/)
  })

  it('names key when the text is not a usable key', () => {
    const broken = plain.replace(/\n[A-Za-z0-9+/]{20}/, '\nAAAAAAAAAAAAAAAAAAAA')
    expect(() => checkPrivateKey(broken, '')).toThrow(/^key: cannot read the private key/)
  })
})
