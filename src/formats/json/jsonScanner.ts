import { AtlasError } from '../../errors.js';
import { MAX_USER_COLUMNS } from '../../transform/naming.js';
import { heapShare } from '../shared/index.js';

/** Nesting deeper than this is refused: no real record needs it, and deep input is an attack. */
export const MAX_JSON_DEPTH = 1000;
/**
 * One record larger than this (in UTF-16 code units) is refused, to keep memory bounded. On its
 * way to COPY a record is held several times over (its text, JSON.parse's check, its decoded
 * values, their JSON and COPY escaping, which can double a string of backslashes twice over), as
 * two-byte strings when the decoder makes them so: up to ~16 bytes of heap per character. So the
 * limit is 1/32 of the heap (9 MiB under --max-old-space-size=256, 128 MiB with a 4 GB heap, never
 * more than MAX_TEXT_CHARS, 247 MiB): a bigger record is a clear error, not an out-of-memory crash.
 */
export const MAX_RECORD_CHARS = heapShare(32);
/** Distinct keys (columns) records may bring: PostgreSQL's 1600 columns per table, less atlas's own. */
export const MAX_RECORD_COLUMNS = MAX_USER_COLUMNS;
/** A key longer than this can never be a --record-path key; it is skipped, not kept. */
const MAX_KEY_CHARS = 64 * 1024;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const COLON = 0x3a;

/** JSON's four whitespace characters. */
function isWhitespace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** Where a primitive (number, true, false, null) ends. */
function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_BRACE || c === CLOSE_BRACKET || isWhitespace(c);
}

/** The next quote or backslash: lets a scan jump over the body of a long string. */
const STRING_SPECIAL = /["\\]/g;

/** What a JSON value is, from its first character (for messages). */
export function jsonKindOf(first: string): string {
  switch (first) {
    case '{':
      return 'an object';
    case '[':
      return 'an array';
    case '"':
      return 'a string';
    case 't':
    case 'f':
      return 'a boolean';
    case 'n':
      return 'null';
    default:
      return /[-0-9]/.test(first) ? 'a number' : describeCharacter(first);
  }
}

/** A character for a message: quoted when it shows, else by name or code point (a NUL byte, U+0001), never raw. */
export function describeCharacter(ch: string): string {
  if (ch === '\0') return 'a NUL byte';
  if (/^[\p{L}\p{N}\p{P}\p{S}]$/u.test(ch)) return `"${ch}"`;
  return `U+${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, '0')}`;
}

type Mode =
  | 'start' // before the top-level value
  | 'key' // in an object on the record path: a key or '}'
  | 'keyString' // inside such a key
  | 'colon'
  | 'value' // the value of a key
  | 'skip' // skipping a value that is not on the path
  | 'next' // ',' or '}' after a skipped value
  | 'elementOrEnd' // in the record array: a record or ']'
  | 'element' // inside a record
  | 'elementNext' // ',' or ']' after a record
  | 'elementStart' // a record (after a comma)
  | 'after'; // after the document (or, without a record path, the record array)

/**
 * The most text kept to suggest a --record-path for a document that is an object
 * (JsonArrayScanner.failProbe): 1/64 of the heap, at most 16M characters (4 MiB under a 256 MB
 * heap), so that its parse stays a small share of the heap too.
 */
const MAX_PROBE_CHARS = Math.min(16 << 20, heapShare(64));

/** Among the arrays reached through objects only (keys without a dot), the one holding the most objects; null when none holds one. */
function arrayOfMostObjects(value: unknown, path: string, depth: number): { path: string; objects: number } | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || depth > 8) return null;
  let best: { path: string; objects: number } | null = null;
  for (const [key, v] of Object.entries(value)) {
    if (key.includes('.') || key === '') continue;
    const here = path === '' ? key : `${path}.${key}`;
    const found = Array.isArray(v)
      ? { path: here, objects: v.filter((e) => typeof e === 'object' && e !== null && !Array.isArray(e)).length }
      : arrayOfMostObjects(v, here, depth + 1);
    if (found !== null && found.objects > 0 && (best === null || found.objects > best.objects)) best = found;
  }
  return best;
}

/**
 * Finds the records of a JSON document without holding it: fed text in chunks of any size, it
 * tracks strings, escapes and nesting, follows `path` (object keys) down to an array, and hands
 * over the text of each element of that array, one at a time. Element text is checked by the
 * caller (JSON.parse); the scanner checks the structure around it.
 */
export class JsonArrayScanner {
  private mode: Mode = 'start';
  /** Objects of the record path entered so far. */
  private level = 0;
  /** The top-level value is an object and no path was given: look for an array to suggest. */
  private probe = false;
  /**
   * While probing (and before the first character decides), the text read, up to
   * MAX_PROBE_CHARS: the whole document, parsed at its end to suggest the array that holds the
   * most objects, at any depth. Null past that (the first top-level array is suggested then).
   */
  private probeText: string[] | null;
  private probeChars = 0;
  /** The first key of the top-level object whose value is an array. */
  private firstArrayKey: string | null = null;
  /** The record array at the path was read: the objects around it are checked to their ends. */
  private found = false;
  private key = '';
  private keyTooLong = false;
  private keyEscape = false;
  // State of the value being skipped or collected.
  private depth = 0;
  private inString = false;
  private escape = false;
  private primitive = false;
  private parts: string[] = [];
  private partsLength = 0;
  private index = 0;
  private consumed = 0;

  /**
   * `direct`, when given, is offered each record where it starts, in the text pushed: it reads the
   * record there and returns the index just after it, or -1 to decline (the record goes on past
   * this text, or is anything but plainly valid), and the record is then collected and handed to
   * `onElement` as without it. `maxDepth` is how deep the record's own nesting may go. The record
   * is read once, not scanned here and then read (docs/decisions.md).
   */
  constructor(
    private readonly path: readonly string[],
    private readonly onElement: (text: string, index: number) => void,
    private readonly direct?: (text: string, start: number, index: number, maxDepth: number) => number,
  ) {
    this.probeText = path.length === 0 ? [] : null;
  }

  /** Elements handed over so far. */
  get count(): number {
    return this.index;
  }

  private fail(message: string, offset: number | null, hint?: string): never {
    const where = offset === null ? '' : ` (at character ${this.consumed + offset + 1})`;
    throw new AtlasError(`${message}${where}`, { hint: hint ?? null });
  }

  /**
   * The document is an object: refused, suggesting the array of the most objects found in it
   * (`document`, its whole text; null when too long to parse), else its first top-level array.
   */
  private failProbe(document: string | null): never {
    let best: { path: string; objects: number } | null = null;
    if (document !== null) {
      try {
        best = arrayOfMostObjects(JSON.parse(document), '', 0);
      } catch {
        // Invalid JSON: the suggestion falls back to the first array.
      }
    }
    const key = best?.path ?? this.firstArrayKey;
    if (key === null) this.fail('the JSON is an object holding no array of records', null, 'atlas reads a JSON array of objects, or one nested in an object (--record-path)');
    const what = best === null ? '' : ` (its ${best.objects} object${best.objects === 1 ? '' : 's'})`;
    this.fail('the JSON is an object, not an array of records', null, `name the array that holds the records with --record-path, e.g. --record-path ${key}${what}`);
  }

  private pathText(upTo = this.path.length): string {
    return this.path.slice(0, upTo).join('.');
  }

  /** Starts tracking a value whose first character (`c`) has been consumed. */
  private beginValue(c: number): void {
    this.depth = 0;
    this.inString = false;
    this.escape = false;
    this.primitive = false;
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      this.depth = 1;
      this.checkDepth();
    } else if (c === QUOTE) this.inString = true;
    else this.primitive = true;
  }

  private checkDepth(): void {
    if (this.depth + this.level + 1 > MAX_JSON_DEPTH) {
      throw new AtlasError(`the JSON is nested more than ${MAX_JSON_DEPTH} levels deep${this.mode === 'element' ? ` in record ${this.index + 1}` : ''}: atlas refuses such input`);
    }
  }

  /** Scans the value begun by beginValue(); returns the index just after its end, or -1 if it goes on. */
  private scanValue(text: string, from: number): number {
    const n = text.length;
    for (let i = from; i < n; i++) {
      if (this.inString) {
        if (this.escape) {
          this.escape = false;
          continue;
        }
        STRING_SPECIAL.lastIndex = i;
        const m = STRING_SPECIAL.exec(text);
        if (m === null) return -1;
        i = m.index;
        if (text.charCodeAt(i) === BACKSLASH) this.escape = true;
        else {
          this.inString = false;
          if (this.depth === 0) return i + 1;
        }
        continue;
      }
      const c = text.charCodeAt(i);
      if (this.primitive) {
        if (isDelimiter(c)) return i;
        continue;
      }
      if (c === QUOTE) this.inString = true;
      else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
        this.depth++;
        this.checkDepth();
      } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
        this.depth--;
        if (this.depth === 0) return i + 1;
      }
    }
    return -1;
  }

  private keep(text: string): void {
    this.partsLength += text.length;
    if (this.partsLength > MAX_RECORD_CHARS) {
      throw new AtlasError(`record ${this.index + 1} is larger than ${MAX_RECORD_CHARS / (1024 * 1024)} MiB: atlas refuses it to keep memory bounded`);
    }
    this.parts.push(text);
  }

  private startElement(text: string, i: number): void {
    const first = text[i] as string;
    if (first === ']' && this.mode === 'elementStart') this.fail(`invalid JSON: a comma before "]" after record ${this.index}`, i);
    if (first !== '{') {
      this.fail(
        `array element ${this.index + 1} (index ${this.index}) is ${jsonKindOf(first)}, not an object: every record must be a JSON object`,
        i,
      );
    }
    this.beginValue(OPEN_BRACE);
    this.parts = ['{'];
    this.partsLength = 1;
    this.mode = 'element';
  }

  push(text: string): void {
    const n = text.length;
    let i = 0;
    if (this.probeText !== null) {
      this.probeChars += n;
      if (this.probeChars <= MAX_PROBE_CHARS) this.probeText.push(text);
      else {
        this.probeText = null;
        if (this.firstArrayKey !== null) this.failProbe(null);
      }
    }
    while (i < n) {
      const mode = this.mode;
      if (mode === 'element') {
        const end = this.scanValue(text, i);
        if (end < 0) {
          this.keep(text.slice(i));
          break;
        }
        this.keep(text.slice(i, end));
        const element = this.parts.length === 1 ? (this.parts[0] as string) : this.parts.join('');
        this.parts = [];
        this.partsLength = 0;
        this.mode = 'elementNext';
        this.onElement(element, this.index++);
        i = end;
        continue;
      }
      if (mode === 'skip') {
        const end = this.scanValue(text, i);
        if (end < 0) break;
        this.mode = 'next';
        i = end;
        continue;
      }
      if (mode === 'keyString') {
        const end = this.scanKey(text, i);
        if (end < 0) break;
        this.mode = 'colon';
        i = end;
        continue;
      }
      const c = text.charCodeAt(i);
      if (isWhitespace(c)) {
        i++;
        continue;
      }
      if (c === OPEN_BRACE && (mode === 'elementOrEnd' || mode === 'elementStart') && this.direct !== undefined) {
        // The record's braces are depth 1 as scanValue counts it; checkDepth allows MAX_JSON_DEPTH - level - 1.
        const end = this.direct(text, i, this.index, MAX_JSON_DEPTH - this.level - 1);
        if (end >= 0) {
          this.index++;
          this.mode = 'elementNext';
          i = end;
          continue;
        }
      }
      if (mode === 'after') this.fail(`unexpected text after the ${this.path.length > 0 ? 'JSON document' : 'top-level JSON array'}`, i);
      this.step(mode, c, text, i);
      i++;
    }
    this.consumed += n;
  }

  /** One structural character outside values. */
  private step(mode: Mode, c: number, text: string, i: number): void {
    const ch = text[i] as string;
    switch (mode) {
      case 'start':
        if (c === OPEN_BRACKET && this.path.length === 0) {
          this.mode = 'elementOrEnd';
          this.probeText = null;
        } else if (c === OPEN_BRACE) {
          this.probe = this.path.length === 0;
          this.mode = 'key';
        } else if (c === OPEN_BRACKET) {
          this.fail(`the JSON is an array, so --record-path ${this.pathText()} finds nothing`, null, 'drop --record-path to read the array itself');
        } else {
          this.fail(`the input is not a JSON array of objects: it starts with ${jsonKindOf(ch)}`, i, 'for one JSON object per line, use --format ndjson');
        }
        return;
      case 'key':
        if (c === QUOTE) {
          this.key = '';
          this.keyTooLong = false;
          this.keyEscape = false;
          this.mode = 'keyString';
        } else if (c === CLOSE_BRACE) this.objectEnded(i);
        else this.fail(`invalid JSON: expected a key, found "${ch}"`, i);
        return;
      case 'colon':
        if (c !== COLON) this.fail(`invalid JSON: expected ":" after key "${this.key}", found "${ch}"`, i);
        this.mode = 'value';
        return;
      case 'value':
        this.enterValue(c, ch, i);
        return;
      case 'next':
        if (c === COMMA) this.mode = 'key';
        else if (c === CLOSE_BRACE) this.objectEnded(i);
        else this.fail(`invalid JSON: expected "," or "}", found "${ch}"`, i);
        return;
      case 'elementOrEnd':
        if (c === CLOSE_BRACKET) this.recordsEnded();
        else this.startElement(text, i);
        return;
      case 'elementStart':
        this.startElement(text, i);
        return;
      case 'elementNext':
        if (c === COMMA) this.mode = 'elementStart';
        else if (c === CLOSE_BRACKET) this.recordsEnded();
        else this.fail(`invalid JSON after record ${this.index}: expected "," or "]", found "${ch}"`, i);
        return;
      default:
        return;
    }
  }

  private enterValue(c: number, ch: string, i: number): void {
    if (this.probe) {
      if (c === OPEN_BRACKET) {
        this.firstArrayKey ??= this.key;
        if (this.probeText === null) this.failProbe(null);
      }
    } else if (!this.found && !this.keyTooLong && this.key === this.path[this.level]) {
      const last = this.level === this.path.length - 1;
      if (last && c === OPEN_BRACKET) {
        this.found = true;
        this.mode = 'elementOrEnd';
        return;
      }
      if (!last && c === OPEN_BRACE) {
        this.level++;
        this.mode = 'key';
        return;
      }
      this.fail(`${this.pathText(this.level + 1)} is ${jsonKindOf(ch)}, not ${last ? 'an array' : 'an object'}`, null, 'check --record-path');
    }
    this.beginValue(c);
    this.mode = 'skip';
  }

  /** The record array closed: the document ends there, or the objects of the path around it go on (read to their ends, so that text after them is refused). */
  private recordsEnded(): void {
    this.mode = this.path.length === 0 ? 'after' : 'next';
  }

  private objectEnded(i: number): void {
    if (this.found) {
      // An object of the path closed after the records: the one around it goes on, or the document ends.
      if (this.level === 0) this.mode = 'after';
      else {
        this.level--;
        this.mode = 'next';
      }
      return;
    }
    if (this.probe) {
      const text = this.probeText?.join('') ?? null;
      // Another object after the first: JSON Lines in a file named .json.
      if (text !== null && /^\s*\{/.test(text.slice(this.consumed + i + 1))) {
        this.fail('the file holds JSON objects one after another, not an array of records: that is JSON Lines', null, 'read it with --format ndjson');
      }
      this.failProbe(text === null ? null : text.slice(0, this.consumed + i + 1));
    }
    const where = this.level === 0 ? 'the top-level object' : this.pathText(this.level);
    this.fail(`no key "${this.path[this.level]}" in ${where}`, null, 'check --record-path');
  }

  /** Collects a key's raw text; returns the index after its closing quote, or -1. */
  private scanKey(text: string, from: number): number {
    const n = text.length;
    let i = from;
    while (i < n) {
      if (this.keyEscape) {
        this.keyEscape = false;
        this.addKeyText(text.slice(i, i + 1));
        i++;
        continue;
      }
      STRING_SPECIAL.lastIndex = i;
      const m = STRING_SPECIAL.exec(text);
      const stop = m === null ? n : m.index;
      this.addKeyText(text.slice(i, stop));
      if (m === null) return -1;
      if (text.charCodeAt(stop) === BACKSLASH) {
        this.keyEscape = true;
        this.addKeyText('\\');
        i = stop + 1;
        continue;
      }
      if (!this.keyTooLong) {
        try {
          this.key = JSON.parse(`"${this.key}"`) as string;
        } catch {
          this.fail('invalid JSON: a key holds an invalid escape or control character', stop);
        }
      }
      return stop + 1;
    }
    return -1;
  }

  private addKeyText(s: string): void {
    if (this.keyTooLong) return;
    if (this.key.length + s.length > MAX_KEY_CHARS) {
      this.keyTooLong = true;
      this.key = '';
    } else this.key += s;
  }

  /** Checks the document is complete. */
  end(): void {
    switch (this.mode) {
      case 'after':
        return;
      case 'start':
        this.fail('the file is empty: no JSON found', null);
        break;
      case 'element':
      case 'elementNext':
      case 'elementStart':
      case 'elementOrEnd':
        this.fail(`the JSON ends inside the array of records, after ${this.index} record(s): the file is truncated`, null);
        break;
      default:
        if (this.probe) this.fail('the JSON ends early: the file is truncated', null);
        if (this.found) this.fail(`the JSON ends after the array of records at ${this.pathText()}, before the objects around it close: the file is truncated`, null);
        this.fail(`the JSON ends before the array of records${this.path.length > 0 ? ` at ${this.pathText()}` : ''} was found: the file is truncated`, null);
    }
  }
}
