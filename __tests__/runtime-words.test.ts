import { splitWords } from '../src/runtime/words.js'

const split = (text: string): string[] => splitWords(text, 'command')
const errorOf = (text: string): string => {
  try {
    split(text)
    return ''
  } catch (error) {
    return (error as Error).message
  }
}

describe('splitWords', () => {
  it.each([
    ['node server.js', ['node', 'server.js']],
    ['  node \t server.js  ', ['node', 'server.js']],
    ['', []],
    // Single quotes keep everything as it is, a backslash and $ too.
    [`echo 'a b; $HOME \\n "x"'`, ['echo', 'a b; $HOME \\n "x"']],
    // Double quotes group; \" and \\ (and \$, \`) escape, other backslashes stay.
    ['echo "a b" "say \\"hi\\"" "c:\\\\d" "\\n"', ['echo', 'a b', 'say "hi"', 'c:\\d', '\\n']],
    ['echo "\\$5" "\\`"', ['echo', '$5', '`']],
    // A backslash outside quotes keeps the next character as text.
    ['echo a\\ b \\; \\$x \\|', ['echo', 'a b', ';', '$x', '|']],
    // Quotes join with what touches them, and an empty pair is an empty word.
    [`--name=' x'"y"z ''`, ['--name= xyz', '']],
    // Line breaks between words separate them; a backslash before one joins the lines, as in sh.
    ['node\n  app.js \\\n  --port 3000', ['node', 'app.js', '--port', '3000']],
    ['a\\\r\nb', ['ab']],
    // # is text inside a word, as in sh.
    ['curl http://x/#top a#b', ['curl', 'http://x/#top', 'a#b']],
    // Nothing expands: globs, tildes and braces are passed as written.
    ['ls *.js ~/x {a,b} ?', ['ls', '*.js', '~/x', '{a,b}', '?']],
    ["sh -c 'exec app --port \"$PORT\"'", ['sh', '-c', 'exec app --port "$PORT"']],
    ['echo "tab\there"', ['echo', 'tab\there']],
    ['echo ünïcode', ['echo', 'ünïcode']]
  ])('splits %j', (text, words) => {
    expect(split(text)).toEqual(words)
  })

  it.each([';', '&', '|', '<', '>', '$', '`', '(', ')'])('refuses an unquoted %s, saying the command runs without a shell and how to pass it', (ch) => {
    const message = errorOf(`run a${ch}b`)
    expect(message).toMatch(new RegExp(`^command: "\\${ch}" at character 6 means something only to a shell, and the command runs without one`))
    expect(message).toContain(`put it in single quotes ('${ch}')`)
    expect(message).toContain("for a shell on purpose, write sh -c '...'")
  })

  it.each([
    ['node app.js; rm -rf /', /^command: ";" at character 12/],
    ['app $(touch /tmp/x)', /^command: "\$" at character 5/],
    ['app `id`', /^command: "`" at character 5/],
    ['app && other', /^command: "&" at character 5/],
    ['app > out.log', /^command: ">" at character 5/],
    ['app #comment', /^command: "#" at character 5 starts a comment in a shell, and the command runs without one/],
    ['#x', /^command: "#" at character 1 starts a comment/],
    ['echo "$HOME"', /^command: "\$" inside double quotes at character 7 would expand in a shell, but the command runs without one\. For the character itself, use single quotes \('\$'\); to expand variables, run a shell on purpose: sh -c/],
    ['echo "`id`"', /^command: "`" inside double quotes at character 7/],
    ["echo 'open", /^command: the single quote at character 6 is never closed$/],
    ['echo "open', /^command: the double quote at character 6 is never closed$/],
    ['echo \\', /^command: a backslash at the end has nothing to escape$/],
    ["echo 'a\nb'", /^command: a line break inside a word at character 8; a word cannot hold one$/],
    ['echo "a\nb"', /^command: a line break inside a word at character 8/],
    ['echo "a\\\nb"', /^command: a line break inside a word/],
    ['echo a\\\rb', /^command: a line break inside a word/],
    ['echo a\0b', /^command: a control character \(0x00\) at character 7; a word cannot hold one$/],
    ["echo '\0'", /^command: a control character \(0x00\)/],
    ['echo \x1b[31m', /^command: a control character \(0x1b\)/]
  ])('refuses %j', (text, message) => {
    expect(errorOf(text)).toMatch(message)
  })

  it('names the input it is given', () => {
    expect(() => splitWords('a;b', 'workers: line 3 (mail)')).toThrow(/^workers: line 3 \(mail\): ";"/)
  })

  it('never quotes the command back: it may hold a token', () => {
    expect(errorOf('app --token=s3cr3t-value ; x')).not.toContain('s3cr3t')
    expect(errorOf("app --token='s3cr3t-value")).not.toContain('s3cr3t')
  })
})

describe('splitWords on any text', () => {
  it('either refuses it or returns words without a line break or NUL', () => {
    const alphabet = ['a', ' ', '\t', '\n', '\r', '\0', "'", '"', '\\', '$', ';', '#', '`', 'é']
    let seed = 1
    const random = (): number => (seed = (seed * 48271) % 2147483647) / 2147483647
    for (let run = 0; run < 5000; run++) {
      const text = Array.from({ length: Math.floor(random() * 12) }, () => alphabet[Math.floor(random() * alphabet.length)]).join('')
      let words: string[] = []
      try {
        words = split(text)
      } catch (error) {
        expect((error as Error).message).toMatch(/^command: /)
      }
      for (const word of words) expect(word).not.toMatch(/[\n\r\0]/)
    }
  })
})
