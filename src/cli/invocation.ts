// How a person can run aquasync again from the same shell, so every hint we print is one that works: `aquasync`
// when that name on the shell's PATH is this very program, `npx aquasync` inside a project that has it installed
// (or is it), and `node <absolute path>` otherwise.
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';

function sameFile(a: string, b: string): boolean {
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

/** Pure core: decides from the facts gathered by aquasyncCommand. */
export function chooseInvocation(facts: { script: string | undefined; onPath: string | undefined; projectHasIt: boolean }): string {
  if (facts.script && facts.onPath && sameFile(facts.onPath, facts.script)) return 'aquasync';
  if (facts.projectHasIt) return 'npx aquasync';
  return facts.script ? `node ${facts.script}` : 'npx aquasync';
}

let memo: string | undefined;

export function aquasyncCommand(): string {
  if (memo !== undefined) return memo;
  const script = process.argv[1] ? path.resolve(process.argv[1]) : undefined;
  const onPath = (process.env.PATH ?? '')
    .split(path.delimiter)
    // npx and npm scripts put node_modules/.bin on PATH for their child only: the user's shell does not have it.
    .filter((dir) => dir !== '' && path.basename(dir) !== '.bin')
    .map((dir) => path.join(dir, 'aquasync'))
    .find((file) => existsSync(file));
  const cwd = process.cwd();
  let projectHasIt = existsSync(path.join(cwd, 'node_modules', '.bin', 'aquasync'));
  if (!projectHasIt) {
    try {
      projectHasIt = (JSON.parse(readFileSync(path.join(cwd, 'package.json'), 'utf8')) as { name?: unknown }).name === 'aquasync';
    } catch {
      projectHasIt = false;
    }
  }
  memo = chooseInvocation({ script, onPath, projectHasIt });
  return memo;
}
