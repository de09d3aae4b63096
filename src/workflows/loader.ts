import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import type { EnvMap } from './env-refs.ts';
import { toWorkflow, type Workflow, WorkflowFileSchema } from './workflow.ts';
import { WorkflowFileError, type WorkflowProblem } from './workflow-file-error.ts';

type Segment = PropertyKey;

/**
 * The node a zod issue path points at, or its nearest ancestor when the path leads to a key that
 * is missing (then `missing` names that key). A key-level issue points at the key itself.
 */
function locate(doc: Document, path: readonly Segment[]): { node: Node | undefined; missing?: string } {
  let node: unknown = doc.contents;
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === seg);
      if (!pair) return { node: node as Node, missing: String(seg) };
      // `key:` with no value has a null value node; point at the key instead.
      node = pair.value ?? pair.key;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
    } else {
      break;
    }
  }
  return { node: node as Node | undefined };
}

function keyNode(doc: Document, path: readonly Segment[], key: string): Node | undefined {
  const { node } = locate(doc, path);
  if (!isMap(node)) return node;
  const pair = node.items.find((p) => (isScalar(p.key) ? p.key.value : p.key) === key);
  return (pair?.key as Node | undefined) ?? node;
}

function problemsFromIssues(
  file: string,
  doc: Document,
  lc: LineCounter,
  issues: readonly z.core.$ZodIssue[],
): WorkflowProblem[] {
  const at = (node: Node | undefined) => {
    const offset = node?.range?.[0] ?? 0;
    const { line, col } = lc.linePos(offset);
    return { line, col };
  };
  const out: WorkflowProblem[] = [];
  for (const issue of issues) {
    const where = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const label = where ? `${where}.${key}` : key;
        out.push({ file, ...at(keyNode(doc, issue.path, key)), message: `${label}: unknown key` });
      }
      continue;
    }
    const { node, missing } = locate(doc, issue.path);
    const message = missing !== undefined ? 'is required' : issue.message;
    out.push({ file, ...at(node), message: `${where || '(document)'}: ${message}` });
  }
  return out;
}

/**
 * Loads every `*.yaml` / `*.yml` file in `dir` (sorted by file name; a file may hold several
 * `---`-separated workflows), validates each, and expands `${VAR}` references from `env`.
 * Throws WorkflowFileError listing every problem as `file:line:col message`.
 */
export async function loadWorkflows(dir: string, env: EnvMap = process.env): Promise<Workflow[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => /\.ya?ml$/.test(n)).sort();
  } catch (err) {
    throw new WorkflowFileError([{ file: dir, message: `cannot read directory: ${(err as Error).message}` }]);
  }
  if (names.length === 0) throw new WorkflowFileError([{ file: dir, message: 'no *.yaml workflow files' }]);

  const problems: WorkflowProblem[] = [];
  const workflows: Workflow[] = [];
  const seen = new Map<string, string>();
  for (const name of names) {
    const file = join(dir, name);
    const text = await readFile(file, 'utf8');
    const lc = new LineCounter();
    const docs = parseAllDocuments(text, { lineCounter: lc, prettyErrors: false });
    if (!Array.isArray(docs)) continue; // an empty stream: nothing but comments
    for (const doc of docs) {
      if (doc.errors.length > 0) {
        for (const e of doc.errors) {
          const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
          problems.push({ file, line: pos.line, col: pos.col, message: e.message.split('\n')[0]! });
        }
        continue;
      }
      if (doc.contents === null) continue; // an empty document, e.g. after a trailing `---`
      const parsed = WorkflowFileSchema.safeParse(doc.toJS());
      if (!parsed.success) {
        problems.push(...problemsFromIssues(file, doc, lc, parsed.error.issues));
        continue;
      }
      const first = seen.get(parsed.data.name);
      if (first !== undefined) {
        const { node } = locate(doc, ['name']);
        const { line, col } = lc.linePos(node?.range?.[0] ?? 0);
        problems.push({
          file,
          line,
          col,
          message: `name: "${parsed.data.name}" is already used in ${first}`,
        });
        continue;
      }
      seen.set(parsed.data.name, file);
      workflows.push(toWorkflow(parsed.data, env, file, workflows.length));
    }
  }
  if (problems.length > 0) throw new WorkflowFileError(problems);
  if (workflows.length === 0) throw new WorkflowFileError([{ file: dir, message: 'no workflows defined' }]);
  return workflows;
}
