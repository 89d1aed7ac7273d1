/**
 * A fast path for the XML most exports are: elements, attributes in quotes, text with the five
 * predefined entities and character references, CDATA, comments. It reads such input by
 * searching for `<` and `>` instead of stepping a state machine over every character as sax does
 * (about three times faster: docs/decisions.md), and gives up at the
 * first thing outside that subset: a processing instruction (but an XML declaration at the
 * start) or DOCTYPE, any other entity, a non-ASCII name, any malformed markup, a token longer
 * than MAX_TOKEN. From there sax reads the rest, after a synthetic prefix of the open elements'
 * tags (its handlers muted) has put it in the state it would be in had it read everything, and
 * its line and column are set to the real ones: events, results and error messages are the same
 * as sax alone would give (test/formats/xmlFast.test.ts compares both on generated documents,
 * valid and not, cut into chunks at random).
 *
 * It never reports an XML error itself: whatever it does not accept, sax judges.
 */

/** The parser events the reader handles (xml.ts), as sax would emit them. */
export interface XmlEvents {
  open(name: string, attributes: Record<string, string>): void;
  close(): void;
  text(text: string): void;
}

/**
 * A tag or text run longer than this goes to sax: sax flushes a text run in pieces past its
 * 64 KiB buffer, and refuses tags past it, so the fast path stays well below.
 */
const MAX_TOKEN = 32 * 1024;

/** A token reader's answer: the token is not all in the buffer yet. */
const NEED_MORE = -1;
/** A token reader's answer: the token is outside the fast path's subset (or malformed): sax reads it. */
const GIVE_UP = -2;

const LT = 60; // <
const GT = 62; // >
const SLASH = 47;
const EQ = 61;
const QUOT = 34;
const APOS = 39;

const BANG = 33; // !
const CDATA_OPEN = '<![CDATA[';

const isSpace = (c: number): boolean => c === 32 || c === 10 || c === 9 || c === 13;
/** ASCII name characters that start a name (a subset of XML's, which sax accepts). */
const isNameStart = (c: number): boolean => (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58;
const isNameChar = (c: number): boolean => isNameStart(c) || (c >= 48 && c <= 57) || c === 45 || c === 46;

const ENTITIES: Record<string, string> = Object.assign(Object.create(null) as Record<string, string>, { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" });
/** `&#233;`, `&#xe9;`, `&#XE9;` without leading zeros, as sax reads them; anything else is left to sax. */
const CHAR_REFERENCE = /^#(?:([1-9][0-9]{0,6})|x([1-9a-f][0-9a-f]{0,5}))$/i;

/** The literal whitespace an attribute value normalises to a space, once its line ends are \n (see normalizeLineEnds). */
export const ATTRIBUTE_WHITESPACE = /[\t\n\r]/;
const ATTRIBUTE_WHITESPACES = /[\t\n\r]/g;

/** XML's Char production, as sax checks a character reference against it (surrogates, most controls, U+FFFE/U+FFFF refused). */
function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/** The character an entity name stands for, or undefined where sax is to decide. */
function entityText(name: string): string | undefined {
  const named = ENTITIES[name];
  if (named !== undefined || name.charCodeAt(0) !== 35) return named;
  const ref = CHAR_REFERENCE.exec(name);
  if (ref === null) return undefined;
  const code = ref[1] !== undefined ? Number(ref[1]) : parseInt(ref[2] as string, 16);
  return isXmlChar(code) ? String.fromCodePoint(code) : undefined;
}

/** The predefined entities and character references decoded; any other `&` gives null (sax decides). */
export function decodeEntities(text: string): string | null {
  let out = '';
  let from = 0;
  for (let amp = text.indexOf('&'); amp >= 0; amp = text.indexOf('&', from)) {
    const semi = text.indexOf(';', amp + 1);
    if (semi < 0 || semi - amp > 10) return null;
    const decoded = entityText(text.slice(amp + 1, semi));
    if (decoded === undefined) return null;
    out += text.slice(from, amp) + decoded;
    from = semi + 1;
  }
  return out + text.slice(from);
}

/** `buf` holds `token` at `at`, or the start of it up to its end. */
function startsOrMayStart(buf: string, at: number, token: string): boolean {
  const n = Math.min(token.length, buf.length - at);
  return buf.startsWith(token.slice(0, n), at);
}

/**
 * A comment at `at`: the offset after it, NEED_MORE, or GIVE_UP if there is none there or it is
 * one sax refuses (`--` inside, `--->` at its end) or longer than MAX_TOKEN.
 */
function comment(buf: string, at: number): number {
  if (!startsOrMayStart(buf, at, '<!--')) return GIVE_UP;
  const end = buf.indexOf('-->', at + 4);
  if (end < 0) return NEED_MORE;
  if (end + 3 - at > MAX_TOKEN || buf.indexOf('--', at + 4) !== end) return GIVE_UP;
  return end + 3;
}

/** A name of ASCII name characters starting at `i`: its end, or -1 if none starts there. */
function nameEnd(buf: string, i: number): number {
  if (i >= buf.length || !isNameStart(buf.charCodeAt(i))) return -1;
  let j = i + 1;
  while (j < buf.length && isNameChar(buf.charCodeAt(j))) j++;
  return j;
}

/** What sax is given when the fast path stops: where it resumes, and how to get it there. */
export interface HandOver {
  /** Tags that put sax in the state the consumed input left it in (emitted events muted). */
  prefix: string;
  /** The input from where the fast path stopped. */
  rest: string;
  /** sax's 0-based line and column, and character position, at the start of `rest`. */
  line: number;
  column: number;
  position: number;
}

export class XmlFastPath {
  private buf = '';
  /** Open elements' names, outermost first. */
  private readonly stack: string[] = [];
  private started = false;
  private rootClosed = false;
  // Position of the start of `buf` in the whole input, as sax counts it.
  private line = 0;
  private column = 0;
  private position = 0;

  constructor(
    private readonly events: XmlEvents,
    private readonly noAttributes: Record<string, string>,
  ) {}

  /** Reads what it can of `chunk`; returns null, or where sax takes over (the fast path is then done). */
  write(chunk: string): HandOver | null {
    this.buf = this.buf.length === 0 ? chunk : this.buf + chunk;
    return this.run() ? this.handOver() : null;
  }

  /**
   * At the end of the input: null when the document ended cleanly here (root closed, only
   * whitespace after it), else where sax takes over (it reports what is missing).
   */
  end(): HandOver | null {
    return this.rootClosed && this.buf.length === 0 ? null : this.handOver();
  }

  /**
   * Reads tokens from the start of `buf`, emitting their events, and drops what it read (an
   * unfinished token stays for the next chunk). True when sax must take over at the start of
   * what is left.
   */
  private run(): boolean {
    const buf = this.buf;
    let i = 0;
    /** Where sax takes over, if it does. */
    let stop = -1;
    if (!this.started) {
      // Before the root element: an XML declaration at the very start, then whitespace and
      // comments; nothing is dropped until the root element is reached, so sax can be given all of it.
      if (buf.length < 6) return false;
      if (buf.startsWith('<?xml') && isSpace(buf.charCodeAt(5))) {
        const end = buf.indexOf('?>', 6);
        if (end < 0) return buf.length > MAX_TOKEN;
        i = end + 2;
      }
      for (;;) {
        while (i < buf.length && isSpace(buf.charCodeAt(i))) i++;
        const next = i + 1 < buf.length ? comment(buf, i) : NEED_MORE;
        if (next === NEED_MORE) return buf.length > MAX_TOKEN;
        if (next === GIVE_UP) break;
        i = next;
      }
      if (buf.charCodeAt(i) !== LT || !isNameStart(buf.charCodeAt(i + 1))) return true;
      // Nothing before the root was emitted (sax's events there, a text of whitespace, change nothing).
      this.started = true;
    }
    for (;;) {
      if (this.rootClosed) {
        // After the root element: whitespace and comments.
        while (i < buf.length && isSpace(buf.charCodeAt(i))) i++;
        if (i === buf.length) break;
        const next = comment(buf, i);
        if (next === NEED_MORE && buf.length - i <= MAX_TOKEN) break;
        if (next < 0) {
          stop = i;
          break;
        }
        i = next;
        continue;
      }
      const lt = buf.indexOf('<', i);
      if (lt < 0) {
        if (buf.length - i > MAX_TOKEN) stop = i;
        break;
      }
      if (lt > i) {
        if (lt - i > MAX_TOKEN) {
          stop = i;
          break;
        }
        let text = buf.slice(i, lt);
        if (text.indexOf('&') >= 0) {
          const decoded = decodeEntities(text);
          if (decoded === null) {
            stop = i;
            break;
          }
          text = decoded;
        }
        this.events.text(text);
        i = lt;
      }
      const next = buf.charCodeAt(lt + 1) === BANG ? this.markup(buf, lt) : this.tag(buf, lt);
      if (next === GIVE_UP || (next === NEED_MORE && buf.length - lt > MAX_TOKEN)) {
        stop = lt;
        break;
      }
      if (next === NEED_MORE) break;
      i = next;
    }
    this.consume(stop >= 0 ? stop : i);
    return stop >= 0;
  }

  /** A comment, or CDATA (its text is the element's, as sax gives it) at `lt`: the offset after it, NEED_MORE or GIVE_UP. */
  private markup(buf: string, lt: number): number {
    if (!startsOrMayStart(buf, lt, CDATA_OPEN)) return comment(buf, lt);
    if (buf.length - lt < CDATA_OPEN.length) return NEED_MORE;
    const end = buf.indexOf(']]>', lt + CDATA_OPEN.length);
    if (end < 0) return NEED_MORE;
    if (end + 3 - lt > MAX_TOKEN) return GIVE_UP;
    // sax gives an empty CDATA section no event.
    if (end > lt + CDATA_OPEN.length) this.events.text(buf.slice(lt + CDATA_OPEN.length, end));
    return end + 3;
  }

  /** Reads the tag at `lt`: the offset after it, NEED_MORE or GIVE_UP. */
  private tag(buf: string, lt: number): number {
    const c = buf.charCodeAt(lt + 1);
    if (Number.isNaN(c)) return NEED_MORE;
    if (c === SLASH) {
      const top = this.stack[this.stack.length - 1] as string;
      const end = lt + 2 + top.length;
      if (end >= buf.length) return NEED_MORE;
      if (!buf.startsWith(top, lt + 2) || buf.charCodeAt(end) !== GT) return GIVE_UP;
      this.stack.pop();
      this.events.close();
      if (this.stack.length === 0) this.rootClosed = true;
      return end + 1;
    }
    const ne = nameEnd(buf, lt + 1);
    if (ne < 0) return GIVE_UP;
    let j = ne;
    let attributes = this.noAttributes;
    for (;;) {
      if (j >= buf.length) return NEED_MORE;
      let k = j;
      while (k < buf.length && isSpace(buf.charCodeAt(k))) k++;
      if (k >= buf.length) return NEED_MORE;
      const ch = buf.charCodeAt(k);
      if (ch === GT || ch === SLASH) {
        if (ch === SLASH) {
          if (k + 1 >= buf.length) return NEED_MORE;
          if (buf.charCodeAt(k + 1) !== GT) return GIVE_UP;
        }
        if (k + 2 - lt > MAX_TOKEN) return GIVE_UP;
        const name = buf.slice(lt + 1, ne);
        this.stack.push(name);
        this.events.open(name, attributes);
        if (ch === SLASH) {
          this.stack.pop();
          this.events.close();
          if (this.stack.length === 0) this.rootClosed = true;
          return k + 2;
        }
        return k + 1;
      }
      // An attribute: whitespace before it, name="value" or name='value' with nothing between.
      if (k === j) return GIVE_UP;
      const an = nameEnd(buf, k);
      if (an < 0) return GIVE_UP;
      if (an + 1 >= buf.length) return NEED_MORE;
      const quote = buf.charCodeAt(an + 1);
      if (buf.charCodeAt(an) !== EQ || (quote !== QUOT && quote !== APOS)) return GIVE_UP;
      const close = buf.indexOf(quote === QUOT ? '"' : "'", an + 2);
      if (close < 0) return NEED_MORE;
      let value = buf.slice(an + 2, close);
      if (value.indexOf('<') >= 0) return GIVE_UP;
      // XML 1.0 §3.3.3: a literal tab or line end is a space (line ends are already \n); a reference (&#10;) stays itself.
      if (ATTRIBUTE_WHITESPACE.test(value)) value = value.replace(ATTRIBUTE_WHITESPACES, ' ');
      if (value.indexOf('&') >= 0) {
        const decoded = decodeEntities(value);
        if (decoded === null) return GIVE_UP;
        value = decoded;
      }
      const attr = buf.slice(k, an);
      // sax keeps the first of a repeated attribute, and loses one named __proto__ (it sets the
      // prototype of its attributes object): the same result is left to sax to give.
      if (attr === '__proto__') return GIVE_UP;
      if (attributes === this.noAttributes) attributes = Object.create(null) as Record<string, string>;
      else if (attr in attributes) return GIVE_UP;
      attributes[attr] = value;
      j = close + 1;
    }
  }

  /** Drops the first `n` characters of `buf`, counting the lines and columns they held. */
  private consume(n: number): void {
    if (n === 0) return;
    const buf = this.buf;
    let lastNewline = -1;
    for (let nl = buf.indexOf('\n'); nl >= 0 && nl < n; nl = buf.indexOf('\n', nl + 1)) {
      this.line++;
      lastNewline = nl;
    }
    this.column = lastNewline >= 0 ? n - lastNewline - 1 : this.column + n;
    this.position += n;
    this.buf = n === buf.length ? '' : buf.slice(n);
  }

  private handOver(): HandOver {
    const prefix = this.rootClosed ? '<x/>' : this.stack.map((name) => `<${name}>`).join('');
    const over: HandOver = { prefix, rest: this.buf, line: this.line, column: this.column, position: this.position };
    this.buf = '';
    return over;
  }
}
