/** The access review's PR comment: its layout on two real plans, hostile plan data, and the length limit. */
import { strict as assert } from "assert";
import * as fs from "fs";
import MarkdownIt from "markdown-it";
import * as os from "os";
import * as path from "path";
import { parse, stringify } from "yaml";
import type { AccessResult } from "../shared/offline/access";
import { MIXED_SOURCE } from "../shared/offline/fixtures";
import { PROJECT_ROOT } from "../shared/program/project";
import type { CheckResult } from "../shared/tools/analyze/checks";
import { type AccessChange, type Changes, compare } from "../shared/tools/plan/changes";
import { plan } from "../shared/tools/plan/plan";
import type { PlanReport } from "../shared/tools/plan/report";
import { REVIEW_MARKER, type ReviewInput, reviewMarkdown } from "../shared/tools/review/markdown";

const INGEST = "arn:aws:iam::222222222222:role/ingest-writer";
const REPORTS = "arn:aws:iam::333333333333:role/reports-reader";
const RUN_URL = "https://github.com/o/r/actions/runs/1";

// As GitHub renders a comment: CommonMark with GFM tables, raw HTML passed through, no bare-URL links.
const md = new MarkdownIt({ html: true, linkify: false });

const decode = (html: string): string =>
  html
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, "&");
const count = (text: string, of: string): number => text.split(of).length - 1;

/** Each row's cells of the rendered table that follows `intro`, decoded: each cell is one code element. */
function tableAfter(html: string, intro: string): string[][] {
  const at = html.indexOf(intro);
  assert.ok(at >= 0, `no "${intro}" in ${html.slice(0, 2000)}`);
  const tbody = /<tbody>([\s\S]*?)<\/tbody>/.exec(html.slice(at));
  assert.ok(tbody, `no table after "${intro}"`);
  return [...tbody[1].matchAll(/<tr>([\s\S]*?)<\/tr>/g)].map((row) =>
    [...row[1].matchAll(/<td>(?:<code>([\s\S]*?)<\/code>)?<\/td>/g)].map((m) => decode(m[1] ?? "")),
  );
}

/** The text of each rendered code block, decoded. */
const codeBlocks = (html: string): string[] =>
  [...html.matchAll(/<pre><code[^>]*>([\s\S]*?)<\/code><\/pre>/g)].map((m) => decode(m[1]));

/** The rendered review's structure: every fence closed, the details balanced and as many as expected. */
function assertWellFormed(review: string, details: number, fences: number): string {
  const html = md.render(review);
  assert.equal(count(html, "<details>"), details, "details opened");
  assert.equal(count(html, "</details>"), details, "details closed");
  assert.equal(count(html, "<pre>"), fences, "one <pre> per fence");
  assert.equal(count(html, "</pre>"), fences);
  const opens = [...review.matchAll(/^(`{3,})(?:diff|text)$/gm)];
  assert.equal(opens.length, fences, "fences opened");
  for (const m of opens) assert.ok(review.indexOf(`\n${m[1]}\n`, m.index) > m.index, `fence ${m[1]} closed`);
  return html;
}

const rows = (changes: AccessChange[]) =>
  changes.map((a) => [a.case, a.principal, a.action, a.resource, a.before, a.after]);
const oneLine = (s: string) => s.replace(/\r\n|\r|\n/g, " ");

describe("the access review's Markdown", function () {
  this.timeout(60_000);
  let base: PlanReport;
  let head: PlanReport;
  let changes: Changes;
  let checks: CheckResult[];

  /** MIXED_SOURCE without reports-reader, then with it, and ingest-writer down from read-write to read. */
  before(async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "review-md-"));
    try {
      const doc = parse(fs.readFileSync(path.join(PROJECT_ROOT, "Pulumi.source.yaml"), "utf8")) as {
        config: Record<string, unknown>;
      };
      const consumers = JSON.parse(MIXED_SOURCE["cross-account-s3-kms:consumers"]) as { roleName: string }[];
      const file = (name: string, list: unknown[]) => {
        const f = path.join(dir, name);
        fs.writeFileSync(f, stringify({ config: { ...doc.config, "cross-account-s3-kms:consumers": list } }));
        return f;
      };
      const baseFile = file(
        "base.yaml",
        consumers.filter((c) => c.roleName !== "reports-reader"),
      );
      const headFile = file(
        "head.yaml",
        consumers.map((c) => (c.roleName === "ingest-writer" ? { ...c, access: "read" } : c)),
      );
      const targetConfig = path.join(PROJECT_ROOT, "Pulumi.target.yaml");
      base = (await plan({ sourceConfig: baseFile, targetConfig, workers: false })).report;
      head = (await plan({ sourceConfig: headFile, targetConfig, workers: false })).report;
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    changes = compare(base, head, "3f2a9c81d0e4".padEnd(40, "0"), "main");
    checks = changes.policies.map((p, i) => {
      const [stack, where] = [p.policy.split(" ")[0] as "source" | "target", p.policy.split(" ").slice(1).join(" ")];
      const fail = i === 0;
      return {
        check: fail ? "CheckNoNewAccess" : "ValidatePolicy",
        stack,
        where,
        policy: p.policy,
        result: fail ? "fail" : "pass",
        ok: !fail,
        detail: fail ? "The modified permissions grant new access compared to your existing policy." : "no findings",
        calls: 1,
      };
    });
  });

  const input = (over: Partial<ReviewInput> = {}): ReviewInput => ({
    baseLabel: "main (3f2a9c81d0e4)",
    changes,
    head: { access: head.access, services: head.services },
    analyzer: { status: "ran", checks },
    ...over,
  });

  it("leads with who gains and loses access and the analyzer's verdict, then the Allowed changes as a table", () => {
    const review = reviewMarkdown(input());
    const [marker, lead] = review.split("\n");
    assert.equal(marker, REVIEW_MARKER);
    const failed = checks.filter((k) => !k.ok).length;
    assert.ok(failed > 0 && failed < checks.length);
    // Each principal with the actions of its cases that became, or stopped being, Allowed.
    const actions = (principal: string, side: "before" | "after") => [
      ...new Set(changes.access.filter((a) => a.principal === principal && a[side] === "Allowed").map((a) => a.action)),
    ];
    assert.ok(actions(REPORTS, "after").includes("s3:GetObject") && actions(INGEST, "before").includes("s3:PutObject"));
    assert.ok(lead.includes(`\`${REPORTS}\` gains \`${actions(REPORTS, "after").join(", ")}\``), lead);
    assert.ok(lead.includes(`\`${INGEST}\` loses \`${actions(INGEST, "before").join(", ")}\``), lead);
    assert.ok(lead.includes(`IAM Access Analyzer: ${checks.length - failed} passed, ${failed} failed`), lead);
    assert.ok(lead.includes("`main (3f2a9c81d0e4)`"), lead);

    const allowed = changes.access.filter((a) => a.before === "Allowed" || a.after === "Allowed");
    const denied = changes.access.filter((a) => a.before !== "Allowed" && a.after !== "Allowed");
    assert.ok(allowed.length > 0 && denied.length > 0, "the two plans change both kinds of case");
    const html = assertWellFormed(review, changes.policies.length + 2, changes.policies.length);
    assert.deepEqual(tableAfter(html, "became or stopped being Allowed"), rows(allowed));
    assert.ok(review.includes(`\n${denied.length} cases changed but stay denied`), "the denied ones are counted");
    assert.deepEqual(tableAfter(html, "stay denied</summary>"), rows(denied));
    const failedRows = tableAfter(html, "failed:</p>");
    assert.deepEqual(
      failedRows.map((r) => r[1]),
      checks.filter((k) => !k.ok).map((k) => k.policy),
    );
    // Each policy's diff, whole, in its own collapsed block.
    assert.deepEqual(
      codeBlocks(html),
      changes.policies.map((p) => p.diff),
    );
    for (const p of changes.policies) assert.ok(html.includes(`<summary><code>${p.policy}</code></summary>`));
    assert.ok(review.includes(`${head.access.length} access cases and ${head.services.length} service requests`));
    assert.ok(!review.includes("Failing"));
  });

  it("says when nothing changed, and when the analyzer was skipped or could not run", () => {
    const none: Changes = { base: "0".repeat(40), access: [], weakened: [], policies: [] };
    const skipped = reviewMarkdown(input({ changes: none, analyzer: { status: "skipped", reason: "no credentials" } }));
    assert.match(skipped.split("\n")[1], /No access changes\. IAM Access Analyzer skipped: `no credentials`\.$/);
    assertWellFormed(skipped, 0, 0);
    const failed = reviewMarkdown(
      input({ changes: none, analyzer: { status: "failed", message: "AccessDenied\nno" } }),
    );
    assert.match(failed.split("\n")[1], /IAM Access Analyzer could not run\.$/);
    assert.deepEqual(codeBlocks(assertWellFormed(failed, 0, 1)), ["AccessDenied\nno\n"]);
  });

  it("puts the head's own failing cases on the second line, and a lost explicit deny on a line of its own", () => {
    const wrong: AccessResult = { ...head.access[0], result: "Allowed", expected: "Denied", ok: false };
    const weakened = changes.access.filter((a) => a.before !== "Allowed" && a.after !== "Allowed").slice(0, 2);
    const review = reviewMarkdown(
      input({
        head: { access: [wrong, ...head.access.slice(1)], services: head.services },
        changes: { ...changes, weakened },
      }),
    );
    const lines = review.split("\n");
    assert.match(
      lines[3],
      new RegExp(`^\\*\\*Failing:\\*\\* 1 of this PR's own cases \\(${head.access.length} access`),
    );
    assert.match(review, /\n\*\*2 explicit denies lost\*\*: still denied/);
    const html = assertWellFormed(review, changes.policies.length + 3, changes.policies.length);
    assert.deepEqual(tableAfter(html, "<strong>Failing:</strong>")[0].slice(0, 6), [
      wrong.case,
      wrong.principal,
      wrong.action,
      wrong.resource,
      "Denied",
      "Allowed",
    ]);
    assert.deepEqual(
      tableAfter(html, "explicit denies lost</summary>"),
      weakened.map((a) => [a.case, a.principal, a.action, a.resource]),
    );
  });

  describe("with hostile plan data", () => {
    const payloads = [
      "`",
      "```",
      "````",
      "</details>",
      "<img src=x onerror=alert(1)>",
      "<script>alert(1)</script>",
      "[link](https://evil)",
      "![img](https://evil)",
      "@octocat",
      "| pipes |",
      "a\\|b",
      "line\n\nbreak\r\n",
    ];
    const hostile = (s: string) => `${s} ${payloads.join(" ")} ${s}`;
    const block = (s: string) => `${s}\n${payloads.join("\n")}\n\`\`\`\`\`\n</details>\n`;

    it("keeps every payload inert: no HTML, link, image or mention, and each fence one code block", () => {
      const evil = (a: AccessChange): AccessChange => ({
        ...a,
        case: hostile(a.case),
        principal: a.principal === REPORTS ? hostile(a.principal) : a.principal,
        resource: hostile(a.resource),
        action: `\`${a.action}`,
      });
      const evilChanges: Changes = {
        ...changes,
        access: changes.access.map(evil),
        weakened: changes.access.slice(0, 1).map(evil),
        policies: changes.policies.map((p) => ({ policy: hostile(p.policy), diff: block(p.diff) })),
      };
      const previews = [{ stack: hostile("target"), outcome: hostile("failure"), output: block("Previewing update") }];
      const review = reviewMarkdown(
        input({
          baseLabel: hostile("main"),
          changes: evilChanges,
          analyzer: {
            status: "ran",
            checks: checks.map((k) => ({ ...k, policy: hostile(k.policy), detail: hostile(k.detail) })),
          },
          previews,
        }),
        1_000_000,
      );
      const fences = evilChanges.policies.length + 1;
      const html = assertWellFormed(review, fences + 3, fences);
      for (const leak of ["<img", "<a ", "<a>", "<script", "<b>", "onerror=alert(1)>"])
        assert.ok(!html.includes(leak), `${leak} in ${html}`);
      // Every mention is in a code element (GitHub's mention filter skips those) or made inert.
      for (const m of html.matchAll(/@octocat/g)) {
        const before = html.slice(0, m.index);
        const inCode = before.lastIndexOf("<code") > before.lastIndexOf("</code>");
        assert.ok(
          inCode || html[m.index + 1] === "\u2060",
          `a live mention at ${html.slice(m.index - 80, m.index + 20)}`,
        );
      }
      // Whole, but for the line endings, which CommonMark reads as \n.
      const lf = (t: string) => t.replace(/\r\n?/g, "\n");
      assert.deepEqual(codeBlocks(html), [...evilChanges.policies.map((p) => p.diff), previews[0].output].map(lf));
      const allowed = evilChanges.access.filter((a) => a.before === "Allowed" || a.after === "Allowed");
      const shown = rows(allowed).map((r) => r.map(oneLine));
      assert.deepEqual(tableAfter(html, "became or stopped being Allowed"), shown);
      const summary = `<summary><code>${hostile(changes.policies[0].policy).replace(/\r\n|\r|\n/g, " ")}</code></summary>`;
      assert.ok(decode(html).includes(summary), "the policy's name, whole, as its summary");
      const lead = md.render(review.split("\n")[1]);
      assert.ok(decode(lead).includes(`<code>${oneLine(hostile("main"))}</code>`), lead);
    });
  });

  describe("the limit", () => {
    const huge = () => {
      const big = changes.policies.map((p, i) =>
        i === 0 ? { ...p, diff: `${p.diff}${'+ "s3:GetObject",\n'.repeat(10_000)}` } : p,
      );
      return { ...changes, policies: big };
    };

    it("cuts the largest collapsed parts first, keeps the lead and the Allowed table, and links the run", () => {
      const big = huge();
      const review = reviewMarkdown(input({ changes: big, detailsUrl: RUN_URL }));
      assert.ok(big.policies[0].diff.length > 65_000);
      assert.ok(review.length <= 65_000, String(review.length));
      const html = assertWellFormed(review, big.policies.length - 1 + 2, big.policies.length - 1);
      assert.deepEqual(
        codeBlocks(html),
        big.policies.slice(1).map((p) => p.diff),
      );
      assert.equal(review.split("\n")[1], reviewMarkdown(input()).split("\n")[1]);
      const allowed = changes.access.filter((a) => a.before === "Allowed" || a.after === "Allowed");
      assert.deepEqual(tableAfter(html, "became or stopped being Allowed"), rows(allowed));
      assert.match(
        review,
        new RegExp(`Cut to fit a comment \\(65000 characters\\):\\*\\* the diff of \`${big.policies[0].policy}\``),
      );
      assert.ok(html.includes(`<a href="${RUN_URL}">the workflow run</a>`));
    });

    it("stays within any limit that holds the lead line, well-formed, the lead line kept", () => {
      const whole = reviewMarkdown(input({ changes: huge(), detailsUrl: RUN_URL }), 1_000_000);
      const lead = whole.split("\n")[1];
      for (const limit of [1_000, 2_500, 6_000, 20_000, 65_000]) {
        const review = reviewMarkdown(input({ changes: huge(), detailsUrl: RUN_URL }), limit);
        assert.ok(review.length <= limit, `${review.length} > ${limit}`);
        assert.equal(review.split("\n")[1], lead);
        const html = md.render(review);
        assert.equal(count(html, "<details>"), count(html, "</details>"), `details balanced at ${limit}`);
        const opens = [...review.matchAll(/^(`{3,})(?:diff|text)$/gm)];
        assert.equal(count(html, "<pre>"), opens.length, `fences at ${limit}`);
        assert.match(review, /Cut to fit a comment/);
      }
      assert.throws(() => reviewMarkdown(input(), 100), RangeError);
    });
  });
});
