/**
 * Plan data (case names, principals, policies, diffs, preview output) as inert Markdown: whatever a PR
 * author writes into it cannot close a fence, open HTML, make a link or image, or @-mention anyone.
 *
 * The scheme: text in a line (prose, table cells) is a code span whose delimiter is longer than any
 * backtick run inside, padded with a space where CommonMark would strip one, newlines collapsed;
 * in a table, `|` becomes `\|` (GFM splits cells on unescaped pipes even inside code spans, and drops
 * the backslash before every pipe). Text inside an HTML `<summary>` is HTML-escaped and wrapped in
 * `<code>`: Markdown is not parsed in an HTML block, and GitHub's mention and issue-reference filters
 * skip code elements (an entity-encoded @ is still a mention in a text node). Multi-line text goes
 * into a fence longer than its longest backtick run. Code spans and blocks render no HTML or links.
 */

const longestRun = (text: string, ch = "`"): number => {
  let longest = 0;
  let run = 0;
  for (const c of text) {
    run = c === ch ? run + 1 : 0;
    if (run > longest) longest = run;
  }
  return longest;
};

/** One line: CommonMark's line endings (\r\n, \r, \n) become spaces; a blank line would end a table, a span or an HTML block. */
export const oneLine = (text: string): string => text.replace(/\r\n|\r|\n/g, " ");

/** A code span of one line; `table` escapes the pipes for a GFM table cell. */
export function code(text: string, table = false): string {
  const line = oneLine(text);
  if (line.trim() === "") return line === "" ? "(empty)" : "(blank)";
  const delimiter = "`".repeat(longestRun(line) + 1);
  const content = table ? line.replace(/\|/g, "\\|") : line;
  // CommonMark strips one space each side when both are there: pad when the text has them, or a backtick.
  const pad = /^`|`$|^ [\s\S]* $/.test(line) ? " " : "";
  return `${delimiter}${pad}${content}${pad}${delimiter}`;
}

/** A GFM table cell: an empty one for blank text. */
export const cell = (text: string): string => (oneLine(text).trim() === "" ? "" : code(text, true));

/** A GFM table: the header and one row per entry, every cell escaped. */
export function table(header: string[], rows: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(" | ")} |`;
  return [line(header), line(header.map(() => "---")), ...rows.map((r) => line(r.map(cell)))].join("\n");
}

const HTML_ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/** Text inside an HTML element (a `<summary>`): escaped, on one line, in a code element. */
export const htmlCode = (text: string): string =>
  `<code>${oneLine(text).replace(/[&<>"']/g, (c) => HTML_ESCAPES[c])}</code>`;

/** A fenced code block whose fence no line inside can close; the text's line endings kept. */
export function fence(text: string, info: "diff" | "text"): string {
  const marks = "`".repeat(Math.max(3, longestRun(text) + 1));
  const body = text.endsWith("\n") ? text : `${text}\n`;
  return `${marks}${info}\n${body}${marks}`;
}

/**
 * A collapsed block: the summary (HTML, already escaped) and Markdown inside, with the blank lines
 * GitHub needs for Markdown to be parsed between HTML tags.
 */
export const collapsed = (summary: string, markdown: string): string =>
  `<details>\n<summary>${summary}</summary>\n\n${markdown}\n\n</details>`;

/** A link to the run's own page, only for a plain https URL; anything else is shown as code. */
export const link = (text: string, url: string): string =>
  /^https:\/\/[A-Za-z0-9.-]+(\/[A-Za-z0-9._~/?#=&%:+-]*)?$/.test(url) ? `[${text}](${url})` : `${text}: ${code(url)}`;
