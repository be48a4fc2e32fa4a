/**
 * The README and the guides in docs/ show only code that a test runs: each code block is a file
 * (or a `#region` of one) under examples/ or tests/, named by a `<!-- from path#region -->` line
 * above it and compared here, except shell commands and the `--help` text (tests/cli.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { describe, test } from "node:test";

const root = new URL("../", import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), "utf8");
const documents = [
  "README.md",
  ...readdirSync(new URL("docs/", root)).map((name) => `docs/${name}`),
]
  .filter((path) => path.endsWith(".md"));

/** README.md has room for what a newcomer needs first; the rest is in docs/. */
const README_LINES = 180;

interface Block {
  document: string;
  line: number;
  lang: string;
  body: string;
  /** The `path#region` of the `<!-- from … -->` line above the block, if any. */
  from?: string;
}

function blocks(document: string): Block[] {
  const lines = read(document).split("\n");
  const found: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)$/.exec(lines[i]);
    if (!open) continue;
    const end = lines.indexOf("```", i + 1);
    assert.ok(end > i, `${document}:${i + 1}: a code block that never closes`);
    let above = i - 1;
    while (above >= 0 && lines[above].trim() === "") above--;
    const from = /^<!-- from (\S+) -->$/.exec(lines[above] ?? "")?.[1];
    found.push({
      document,
      line: i + 1,
      lang: open[1],
      body: lines.slice(i + 1, end).join("\n"),
      from,
    });
    i = end;
  }
  return found;
}

/** A file's text without its leading doc comment, or the lines of one `#region`, dedented. */
function source(from: string): string {
  const [path, region] = from.split("#");
  const text = read(path);
  if (region === undefined) return text.replace(/^\/\*\*[\s\S]*?\*\/\n/, "").trimEnd();
  const lines = text.split("\n");
  const start = lines.findIndex((line) => new RegExp(`#region ${region}$`).test(line.trim()));
  assert.ok(start >= 0, `${path} has no #region ${region}`);
  const end = lines.findIndex((line, i) => i > start && /#endregion/.test(line));
  const body = lines.slice(start + 1, end).filter((line) => !/#(end)?region/.test(line));
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return body.map((line) => line.slice(indent)).join("\n").trimEnd();
}

describe("the documentation", () => {
  test(`README.md is at most ${README_LINES} lines`, () => {
    const count = read("README.md").trimEnd().split("\n").length;
    assert.ok(count <= README_LINES, `README.md has ${count} lines; move the rest into docs/`);
  });

  test("every example is run by a test", () => {
    const tests = readdirSync(new URL("tests/", root)).filter((name) => name.endsWith(".test.ts"))
      .map((name) => read(`tests/${name}`)).join("\n");
    for (const example of readdirSync(new URL("examples/", root))) {
      const own = readdirSync(new URL(`examples/${example}/`, root))
        .some((name) => /\.test\.ts$/.test(name));
      assert.ok(own || tests.includes(`examples/${example}/`), `no test runs examples/${example}`);
    }
  });

  for (const document of documents) {
    test(`${document}: every code block is tested code`, () => {
      for (const block of blocks(document)) {
        const where = `${block.document}:${block.line}`;
        if (block.from !== undefined) {
          const [path] = block.from.split("#");
          assert.match(path, /^(examples|tests)\//, `${where}: shows ${path}, not a tested file`);
          assert.ok(existsSync(new URL(path, root)), `${where}: ${path} does not exist`);
          assert.equal(block.body, source(block.from), `${where}: differs from ${block.from}`);
        } else {
          const shell = block.lang === "sh";
          const help = block.body.startsWith("$ lifespan-hono --help\n");
          assert.ok(
            shell || help,
            `${where}: a \`\`\`${block.lang} block that no test runs: make it a file under ` +
              "examples/ with a test, and name it with <!-- from path#region --> above the block",
          );
        }
      }
    });
  }
});
