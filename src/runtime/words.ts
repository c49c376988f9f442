// Shell-like word splitting for `command`, `release-command` and the commands of `workers`.
// The words go to the program as its argument list, with no shell in between (Docker's exec
// form), so what a shell would act on (; | & < > $ ` ( ) and a leading #) is refused rather than
// passed on as text the user did not mean: the message says how to write it as text (single
// quotes) or how to get a shell on purpose (sh -c '...'). Quoting follows POSIX sh, so a command
// that works in a terminal splits the same way here. Messages give positions, not the value: a
// command may carry a token.

/** Characters a shell acts on outside quotes. */
const SHELL_ONLY = new Set([';', '&', '|', '<', '>', '$', '`', '(', ')'])
/** Inside double quotes a backslash escapes only these (POSIX); elsewhere it stays as it is. */
const DOUBLE_QUOTE_ESCAPES = new Set(['"', '\\', '$', '`'])

/** What to do instead, for a character a shell would act on. */
const howTo = (ch: string): string =>
  `and the command runs without one: its words go to the program as they are. To pass "${ch}" as text, ` +
  `put it in single quotes ('${ch}'); for a shell on purpose, write sh -c '...'`

/**
 * Splits `text` into words as sh would, without expanding anything; throws naming `where`, with
 * positions counted from `offset` (where `text` starts in the line the user wrote).
 */
export function splitWords(text: string, where: string, offset = 0): string[] {
  return new Splitter(text, where, offset).run()
}

class Splitter {
  private readonly words: string[] = []
  private word = ''
  /** A word has begun, even one that may stay empty (''). */
  private inWord = false
  private i = 0

  constructor(
    private readonly text: string,
    private readonly where: string,
    private readonly offset: number
  ) {}

  run(): string[] {
    while (this.i < this.text.length) this.step(this.text[this.i])
    this.endWord()
    return this.words
  }

  private step(ch: string): void {
    if (ch === ' ' || ch === '\t' || ch === '\n' || ch === '\r') {
      this.endWord()
      this.i++
    } else if (ch === "'") {
      this.singleQuoted()
    } else if (ch === '"') {
      this.doubleQuoted()
    } else if (ch === '\\') {
      this.escaped()
    } else {
      this.plain(ch)
    }
  }

  private plain(ch: string): void {
    if (SHELL_ONLY.has(ch)) this.fail(`"${ch}" at character ${this.at()} means something only to a shell, ${howTo(ch)}`)
    // Only at the start of a word: a#b is text to sh too.
    if (ch === '#' && !this.inWord) this.fail(`"#" at character ${this.at()} starts a comment in a shell, ${howTo(ch)}`)
    this.take(ch)
    this.i++
  }

  /** A backslash outside quotes keeps the next character as text; before a line break it joins lines. */
  private escaped(): void {
    const next = this.text[this.i + 1]
    if (next === undefined) this.fail('a backslash at the end has nothing to escape')
    if (next === '\n' || (next === '\r' && this.text[this.i + 2] === '\n')) {
      this.i += next === '\n' ? 2 : 3 // a line continuation, as in sh
      return
    }
    this.take(next)
    this.i += 2
  }

  private singleQuoted(): void {
    const start = this.i
    this.inWord = true
    for (this.i++; this.text[this.i] !== "'"; this.i++) {
      if (this.i >= this.text.length) this.fail(`the single quote at character ${this.at(start)} is never closed`)
      this.take(this.text[this.i])
    }
    this.i++ // the closing quote
  }

  private doubleQuoted(): void {
    const start = this.i
    this.inWord = true
    for (this.i++; this.text[this.i] !== '"'; this.i++) {
      if (this.i >= this.text.length) this.fail(`the double quote at character ${this.at(start)} is never closed`)
      const ch = this.text[this.i]
      if (ch === '$' || ch === '`') {
        this.fail(
          `"${ch}" inside double quotes at character ${this.at()} would expand in a shell, but the command runs ` +
            `without one. For the character itself, use single quotes ('${ch}'); to expand variables, run a shell ` +
            'on purpose: sh -c \'exec app --port "$PORT"\''
        )
      }
      if (ch === '\\' && DOUBLE_QUOTE_ESCAPES.has(this.text[this.i + 1])) this.i++
      this.take(this.text[this.i])
    }
    this.i++ // the closing quote
  }

  private take(ch: string): void {
    const code = ch.charCodeAt(0)
    if (ch === '\n' || ch === '\r') this.fail(`a line break inside a word at character ${this.at()}; a word cannot hold one`)
    if ((code < 0x20 && ch !== '\t') || code === 0x7f) {
      this.fail(`a control character (0x${code.toString(16).padStart(2, '0')}) at character ${this.at()}; a word cannot hold one`)
    }
    this.word += ch
    this.inWord = true
  }

  private endWord(): void {
    if (this.inWord) this.words.push(this.word)
    this.word = ''
    this.inWord = false
  }

  /** 1-based position of the character at `index`, in the user's line. */
  private at(index = this.i): number {
    return this.offset + index + 1
  }

  private fail(problem: string): never {
    throw new Error(`${this.where}: ${problem}`)
  }
}
