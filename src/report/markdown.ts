// The job summary is Markdown with HTML, rendered on github.com. Whatever reaches it from the host
// or the app (Docker's error text, a container's log lines, the image names in state.json) could
// carry an <img> tag, a link or a table row, so every value goes in through these helpers and is
// shown as the characters it holds.

/** C0 controls and DEL: a terminal's colour codes and the like, which no reader wants as text. */
const CONTROLS = /[\u0000-\u0008\u000b-\u001f\u007f]/g

/** ASCII punctuation: what CommonMark lets a backslash escape, and all that can start markup. */
const PUNCTUATION = /[!-/:-@[-`{-~]/g

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' }

/**
 * One line of plain text for a paragraph, heading, quote or table cell: HTML's special characters
 * become entities and every other punctuation character is backslash-escaped, so no tag, link,
 * autolink (`http\:`), emphasis, heading, list or table cell can start in it. Line breaks become
 * spaces: a caller that wants several lines splits them first.
 */
export function text(value: string): string {
  return value
    .replace(CONTROLS, '')
    .replace(/[\r\n]+/g, ' ')
    .replace(PUNCTUATION, (char) => ENTITIES[char] ?? `\\${char}`)
}

/**
 * An inline code span holding `value` as it is (Markdown and HTML are not read inside one), on one
 * line, fenced by more backticks than any run inside it. `table`: inside a table cell, where GFM
 * splits cells at `|` before it looks for code, so a pipe must be escaped even there.
 */
export function code(value: string, table = false): string {
  let body = value.replace(CONTROLS, '').replace(/[\r\n]+/g, ' ')
  if (body === '') return ''
  if (table) body = body.replace(/\|/g, '\\|')
  const fence = '`'.repeat(longestRun(body, '`') + 1)
  // A space on each side keeps a leading or trailing backtick out of the fence; CommonMark strips one.
  const padded = /^`|`$/.test(body) || /^ .* $/.test(body) ? ` ${body} ` : body
  return `${fence}${padded}${fence}`
}

/** A fenced code block of `lines`, each on one line, that none of them can close. */
export function codeBlock(info: string, lines: string[]): string {
  const body = lines.map((line) => line.replace(CONTROLS, '').replace(/[\r\n]+/g, ' '))
  const fence = '`'.repeat(Math.max(3, longestRun(body.join('\n'), '`') + 1))
  return [`${fence}${info}`, ...body, fence].join('\n')
}

function longestRun(value: string, char: string): number {
  let longest = 0
  let run = 0
  for (const c of value) {
    run = c === char ? run + 1 : 0
    longest = Math.max(longest, run)
  }
  return longest
}
