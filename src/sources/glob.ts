/**
 * The glob syntax atlas expands itself (quoted globs, S3 keys, --pattern): POSIX shell globbing
 * plus `**` and brace expansion, matched one path segment at a time so that a walk can prune
 * directories no match can lie under. Why not node's path.matchesGlob: docs/decisions.md.
 *
 *   *        any run of characters within one segment (never `/`)
 *   ?        one character (never `/`)
 *   [abc]    one of a, b, c; [a-z] a range (by code point); [!abc] or [^abc] none of them;
 *            a `]` first in the set is literal; an unclosed `[` is a literal `[`
 *   {a,b}    expands to the alternatives before matching (nested allowed, `{x}` without a comma
 *            stays literal), as bash's brace expansion
 *   **       as a whole segment: zero or more directories; elsewhere it is `*`
 *   \x       the character x literally (`\*`, `\[`, `\{`, `\,`, `\\`)
 *
 * A name starting with `.` is matched only by a segment that starts with a literal `.`
 * (`*`, `?`, `[...]` and `**` do not match it), as the shell without dotglob.
 * Matching is case-sensitive. POSIX classes ([[:alpha:]]) are not supported.
 */
import { UsageError } from '../errors.js';

/** Most words a brace expansion may produce: enough for any real command line, not a runaway product. */
const MAX_BRACE_EXPANSIONS = 1024;

/** One segment of a compiled glob: `**`, or a pattern matching one name. */
export type GlobSegment = { globstar: true } | { globstar: false; regex: RegExp; dotAllowed: boolean };

/** A glob split into segments, matched incrementally as a walk goes down. */
export interface CompiledGlob {
  readonly segments: readonly GlobSegment[];
}

/** Where a matcher stands: the segment indices still alive after the names consumed so far. */
export type GlobState = ReadonlySet<number>;

const MAGIC = new Set(['*', '?', '[', '{']);

/** Index of the first unescaped `*`, `?`, `[` or `{` in `text`, or -1. */
export function firstMagicIndex(text: string): number {
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\\') i++;
    else if (MAGIC.has(c)) return i;
  }
  return -1;
}

/** Whether `text` holds an unescaped `*`, `?`, `[` or `{`: a glob rather than a literal path. */
export function hasGlobMagic(text: string): boolean {
  return firstMagicIndex(text) !== -1;
}

/**
 * Whether a path that does not exist is to be expanded as a glob: it holds magic, or escapes a
 * glob character (`report\\[1\\].csv` names `report[1].csv`).
 */
export function isGlobArgument(text: string): boolean {
  return hasGlobMagic(text) || /\\[*?[\]{},\\]/.test(text);
}

/** Removes the backslash escapes of a literal glob segment. */
export function unescapeGlob(text: string): string {
  return text.replace(/\\(.)/gsu, '$1');
}

/** Index of the `}` closing the `{` at `open`, and the top-level commas between; null if unclosed. */
function braceGroup(text: string, open: number): { close: number; commas: number[] } | null {
  const commas: number[] = [];
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return { close: i, commas };
    else if (c === ',' && depth === 1) commas.push(i);
  }
  return null;
}

/** Bash-style brace expansion: `a{b,c}d` gives `abd`, `acd`; escapes are kept for the matcher. */
export function expandBraces(glob: string): string[] {
  const out: string[] = [];
  const expand = (text: string, from: number): void => {
    for (let i = from; i < text.length; i++) {
      const c = text[i];
      if (c === '\\') {
        i++;
        continue;
      }
      if (c !== '{') continue;
      const group = braceGroup(text, i);
      if (group === null || group.commas.length === 0) continue;
      const prefix = text.slice(0, i);
      const suffix = text.slice(group.close + 1);
      const bounds = [i, ...group.commas, group.close];
      for (let k = 0; k + 1 < bounds.length; k++) {
        // Restart at the alternative: it may hold braces of its own, the prefix has none left.
        expand(prefix + text.slice((bounds[k] as number) + 1, bounds[k + 1]) + suffix, prefix.length);
      }
      return;
    }
    if (out.length >= MAX_BRACE_EXPANSIONS) throw new UsageError(`the glob ${glob} expands to more than ${MAX_BRACE_EXPANSIONS} alternatives`, { hint: 'use fewer {a,b} groups, or a directory and --pattern' });
    out.push(text);
  };
  expand(glob, 0);
  return out;
}

const regexChar = (c: string): string => `\\u{${(c.codePointAt(0) as number).toString(16)}}`;

/** The regex source of a `[...]` set starting at `chars[start]`, or null when it has no closing `]`. */
function parseSet(chars: string[], start: number, glob: string): { source: string; end: number } | null {
  let i = start + 1;
  const negated = chars[i] === '!' || chars[i] === '^';
  if (negated) i++;
  let body = '';
  for (let first = true; i < chars.length; first = false) {
    let c = chars[i] as string;
    if (c === ']' && !first) {
      const source = `[${negated ? '^/' : ''}${body}]`;
      try {
        new RegExp(source, 'u');
      } catch {
        throw new UsageError(`invalid character range in the glob ${glob}`, { hint: 'a range goes from the lower character to the higher, as in [a-z]' });
      }
      return { source, end: i };
    }
    if (c === '\\' && i + 1 < chars.length) c = chars[++i] as string;
    body += regexChar(c);
    i++;
    if (chars[i] === '-' && i + 1 < chars.length && chars[i + 1] !== ']') {
      let to = chars[i + 1] as string;
      i += 2;
      if (to === '\\' && i < chars.length) to = chars[i++] as string;
      body += `-${regexChar(to)}`;
    }
  }
  return null;
}

/** Compiles one brace-free segment (no `/`) to a regex over one name. */
function compileSegment(segment: string, glob: string): GlobSegment {
  if (segment === '**') return { globstar: true };
  const chars = Array.from(segment);
  let source = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === '\\' && i + 1 < chars.length) source += regexChar(chars[++i] as string);
    else if (c === '*') source += '[^/]*';
    else if (c === '?') source += '[^/]';
    else if (c === '[') {
      const set = parseSet(chars, i, glob);
      if (set === null) source += regexChar(c);
      else {
        source += set.source;
        i = set.end;
      }
    } else source += regexChar(c);
  }
  const dotAllowed = segment.startsWith('.') || segment.startsWith('\\.');
  return { globstar: false, regex: new RegExp(`^${source}$`, 'su'), dotAllowed };
}

/** Compiles a brace-free glob (run expandBraces first) whose segments are separated by `/`. */
export function compileGlob(glob: string): CompiledGlob {
  return { segments: glob.split('/').map((s) => compileSegment(s, glob)) };
}

/** Adds the indices reachable without consuming a name (past each `**`, which may match none). */
function closure(glob: CompiledGlob, states: Set<number>): Set<number> {
  for (const i of [...states]) {
    for (let k = i; k < glob.segments.length && (glob.segments[k] as GlobSegment).globstar; k++) states.add(k + 1);
  }
  return states;
}

/** The state before any name is consumed. */
export function startGlob(glob: CompiledGlob): GlobState {
  return closure(glob, new Set([0]));
}

/** Consumes one path segment (a directory or file name). */
export function stepGlob(glob: CompiledGlob, state: GlobState, name: string): GlobState {
  const next = new Set<number>();
  const hidden = name.startsWith('.');
  for (const i of state) {
    const seg = glob.segments[i];
    if (seg === undefined) continue;
    if (seg.globstar) {
      if (!hidden) next.add(i);
    } else if ((!hidden || seg.dotAllowed) && seg.regex.test(name)) next.add(i + 1);
  }
  return closure(glob, next);
}

/** Whether the names consumed so far form a whole match. */
export function isGlobMatch(glob: CompiledGlob, state: GlobState): boolean {
  return state.has(glob.segments.length);
}

/** Whether more names could still complete a match (a directory worth entering). */
export function canGlobContinue(glob: CompiledGlob, state: GlobState): boolean {
  for (const i of state) if (i < glob.segments.length) return true;
  return false;
}

/** Whether a `/`-separated path matches the compiled glob as a whole. */
export function matchesGlob(glob: CompiledGlob, path: string): boolean {
  let state = startGlob(glob);
  for (const name of path.split('/')) {
    state = stepGlob(glob, state, name);
    if (state.size === 0) return false;
  }
  return isGlobMatch(glob, state);
}

/** A matcher for a name-only glob (--pattern), with braces expanded. */
export function compileNamePattern(pattern: string): (name: string) => boolean {
  const globs = expandBraces(pattern).map(compileGlob);
  return (name) => globs.some((g) => matchesGlob(g, name));
}

/**
 * Splits a brace-free glob at its first segment holding magic (else at its last segment): the
 * literal directory to walk from (unescaped; '' for the working directory) and the glob below it.
 */
export function splitGlobBase(glob: string): { base: string; rest: string } {
  const segments = glob.split('/');
  let k = segments.findIndex(hasGlobMagic);
  if (k === -1) k = segments.length - 1;
  const base = segments.slice(0, k).map(unescapeGlob).join('/');
  return { base: base === '' && glob.startsWith('/') ? '/' : base, rest: segments.slice(k).join('/') };
}

/** The literal text before a brace-free glob's first unescaped magic character, unescaped (an S3 listing prefix). */
export function literalPrefix(glob: string): string {
  const magic = firstMagicIndex(glob);
  return unescapeGlob(magic === -1 ? glob : glob.slice(0, magic));
}
