import { BatchQueue, detectEncoding, ENCODINGS, heapShare, heapSizeLimit, lateShapes, MIB, newKeyShapes, RecordKeys, startPulling, TextChunks, type KeyedRow, type KeyedTableStream } from '../shared/index.js';
import { TextDecoder } from 'node:util';
import { AtlasError } from '../../errors.js';
import { COLUMN_LIMIT_REASON, MAX_USER_COLUMNS } from '../../transform/naming.js';
import { ATTRIBUTE_WHITESPACE, XmlFastPath, type HandOver, type XmlEvents } from './xmlFast.js';
import {
  besideRecords,
  flattenXmlRecord,
  hasKeys,
  matchesRecord,
  parseAttributeDefaults,
  parseXmlRecordPath,
  RecordDetector,
  type AttributeDefaults,
  type RecordMatcher,
  type MixedContent,
  type XmlNotes,
  type XmlNode,
} from './xmlRecords.js';

export interface XmlOptions {
  /** Record element: a name (`order`) or a path (`orders/order`); detected when null. */
  recordPath: string | null;
  /** Encoding name (see --encoding); else a BOM, else the XML declaration, else UTF-8. */
  encoding: string | null;
  /** Read everything with sax, without the fast path (for tests comparing the two). */
  saxOnly?: boolean;
}

/** Elements nested deeper than this are refused: no real record needs it, and deep input is an attack. */
export const MAX_XML_DEPTH = 1000;
/** Parser events kept while looking for the record element; past this, the best guess is taken. */
const DETECT_MAX_EVENTS = 50_000;
/** Text kept while looking for the record element (UTF-16 code units). */
const DETECT_MAX_CHARS = 16 * 1024 * 1024;

/** The children of every element that has none (most are leaves): replaced, never written to. */
const NO_CHILDREN: XmlNode[] = Object.freeze([]) as unknown as XmlNode[];
/** The attributes of every element that has none (never written to). */
const NO_ATTRIBUTES: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);

/**
 * One record may hold this much text (UTF-16 code units): memory stays bounded. As for JSON
 * (MAX_RECORD_CHARS in jsonScanner.ts), a record's text is held several times over on its way to
 * COPY, so the limit is 1/32 of the heap (9 MiB under --max-old-space-size=256, never more than 247 MiB).
 */
export const MAX_XML_RECORD_CHARS = heapShare(32);
/**
 * Elements one record may hold: each costs up to ~1 KB of heap while the record is built and
 * flattened, so 1/2048 of the heap (about 150,000 under --max-old-space-size=256), at most a million.
 */
const MAX_XML_RECORD_NODES = Math.min(1_000_000, Math.floor(heapSizeLimit() / 2048));
/** Distinct columns (keys) the records may bring: PostgreSQL's 1600 columns per table, less atlas's own. */
export const MAX_XML_COLUMNS = MAX_USER_COLUMNS;

/** sax's names for the buffers it limits, as a user would say them. */
const BUFFER_NAMES: Record<string, string> = {
  doctype: 'a DOCTYPE declaration',
  comment: 'a comment',
  attribValue: 'an attribute value',
  attribName: 'an attribute name',
  tagName: 'a tag name',
  procInstBody: 'a processing instruction',
  sgmlDecl: 'a declaration',
  entity: 'an entity name',
};

type ParserEvent = { open: string; attributes: Record<string, string> } | { close: true } | { text: string };

/**
 * The encoding: the user's, else a BOM's, else the one the XML declaration names, else UTF-8.
 */
export function pickXmlEncoding(first: Buffer, requested: string | null): string {
  if (requested !== null || (first[0] === 0xff && first[1] === 0xfe) || (first[0] === 0xfe && first[1] === 0xff)) {
    return detectEncoding(first, requested);
  }
  const declared = /^(?:\xef\xbb\xbf)?<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']/.exec(first.subarray(0, 256).toString('latin1'));
  if (!declared) return 'utf-8';
  const name = (declared[1] as string).toLowerCase();
  const encoding = ENCODINGS[name] ?? name;
  try {
    new TextDecoder(encoding);
  } catch {
    throw new AtlasError(`the XML declares encoding "${declared[1]}", which atlas cannot decode`, { hint: 'convert the file to UTF-8, or name a readable encoding with --encoding' });
  }
  return encoding;
}

/**
 * Line ends as XML 1.0 §2.11 has a parser see them: `\r\n` and a lone `\r` are `\n`, before the
 * fast path or sax reads the text (a `\r` ending a chunk waits for the next). A reference
 * (`&#13;`) is no line end and stays.
 */
class LineEnds {
  private heldCr = false;

  normalize(chunk: string): string {
    let text = this.heldCr ? `\r${chunk}` : chunk;
    this.heldCr = false;
    if (text.indexOf('\r') < 0) return text;
    if (text.endsWith('\r')) {
      this.heldCr = true;
      text = text.slice(0, -1);
    }
    return text.replace(/\r\n?/g, '\n');
  }

  /** What is still held at the end of the input. */
  end(): string {
    const last = this.heldCr ? '\n' : '';
    this.heldCr = false;
    return last;
  }
}

/**
 * Lone surrogates standing in for &#9;, &#10; and &#13; while sax reads: the decoded input never
 * holds one (invalid input fails to decode), so a stand-in is always a reference.
 */
const STAND_IN: Record<string, string> = { '\udc09': '\t', '\udc0a': '\n', '\udc0d': '\r' };
const WHITESPACE_STAND_INS = /[\udc09\udc0a\udc0d]/;

/**
 * sax's entity table entries for the references to a tab or line end, as sax looks them up (the
 * reference's text, then in lower case), with up to 7 leading zeros.
 */
const WHITESPACE_REFERENCES: Record<string, string> = (() => {
  const table: Record<string, string> = {};
  for (let zeros = 0; zeros <= 7; zeros++) {
    const z = '0'.repeat(zeros);
    Object.assign(table, { [`#${z}9`]: '\udc09', [`#${z}10`]: '\udc0a', [`#${z}13`]: '\udc0d', [`#x${z}9`]: '\udc09', [`#x${z}a`]: '\udc0a', [`#x${z}d`]: '\udc0d' });
  }
  return table;
})();

function withStandInsPutBack(text: string): string {
  return text.replace(/[\udc09\udc0a\udc0d]/g, (c) => STAND_IN[c]!);
}

/**
 * Streams the records of an XML document with sax (strict mode). Entities declared in a DTD are
 * never expanded and external entities never fetched: a reference to one is an error. Returns
 * once the first record (or the end) is reached.
 */
export async function openXml(bytes: AsyncIterable<Buffer>, options: XmlOptions): Promise<KeyedTableStream> {
  let matcher: RecordMatcher | null = options.recordPath === null ? null : parseXmlRecordPath(options.recordPath);
  // Loaded here so that importing this module (and atlas --help) does not load sax.
  const { default: sax } = await import('sax');
  const parser = sax.parser(true, { trim: false, normalize: false, position: true });
  const columns = newKeyShapes();
  const pending = new BatchQueue<KeyedRow>();
  let rn = 0;
  /** The DOCTYPE declares entities (`<!ENTITY ...>`), which atlas does not expand. */
  let declaresEntities = false;
  /** Attribute values the DOCTYPE declares as defaults (XML 1.0 §5.1), and how often each was supplied. */
  let attributeDefaults: AttributeDefaults | null = null;
  const defaultsApplied = new Map<string, number>();
  let sawElement = false;

  // Record building (once the record element is known).
  const stack: string[] = [];
  const open: XmlNode[] = [];
  let recordChars = 0;
  let recordNodes = 0;

  const tooBig = (): never => {
    throw new AtlasError(`record ${rn + 1} is too large (over ${MAX_XML_RECORD_CHARS / MIB} MiB of text or ${MAX_XML_RECORD_NODES} elements): atlas refuses it to keep memory bounded`);
  };
  /** Elements whose text stood beside child elements (see textOf in xmlRecords.ts), by name; attributes renamed beside a child of their name. */
  const notes: XmlNotes = { mixed: new Map(), attributesRenamed: new Map() };
  const { mixed } = notes;
  // Every key becomes a column: past what a table can hold, the input is refused as soon as it is seen.
  const recordKeys = new RecordKeys(MAX_XML_COLUMNS);
  /** Counts the keys of a record; returns them, as the previous record's array when they are the same (see RecordKeys). */
  const countKeys = (keys: readonly string[]): readonly string[] => {
    const counted = recordKeys.add(keys);
    if (counted === null) {
      throw new AtlasError(
        `record ${rn} brings the number of distinct columns (attributes and child elements) past ${MAX_XML_COLUMNS}: ${COLUMN_LIMIT_REASON}`,
        { hint: 'name a different record element with --record-path, or split the file' },
      );
    }
    return counted;
  };
  // Elements at the depth of detected records that are not records (another name under their
  // parent, or under another parent: evdev.xml's <layout>s beside its <model>s), by path: a second
  // kind of record is refused (none of it would be imported), a single one is said in a warning.
  let detected = false;
  const beside = new Map<string, { name: string; parent: string; sameParent: boolean; count: number }>();
  const skipBeside = (): void => {
    const m = matcher as RecordMatcher;
    const key = stack.join('/');
    const seen = beside.get(key) ?? { name: stack.at(-1) as string, parent: stack.at(-2) as string, sameParent: besideRecords(m, stack), count: 0 };
    beside.set(key, seen);
    if (++seen.count < 2) return;
    const record = m.names.at(-1) as string;
    const parent = m.names.at(-2) as string;
    if (!seen.sameParent) {
      throw new AtlasError(
        `the XML has more than one kind of repeated element: <${record}> under <${parent}>, taken as the records, and <${seen.name}> under <${seen.parent}>, which would not be imported`,
        { hint: `import each kind on its own, into a table of its own: --record-path ${parent}/${record} --table ..., then --record-path ${seen.parent}/${seen.name} --table ...` },
      );
    }
    // Under the root, the kinds are records of their own; deeper, their parent may be the record.
    const whole = m.names.length > 2 ? `; or take each <${parent}> as a record: --record-path ${parent}` : '';
    throw new AtlasError(
      `the XML has more than one kind of repeated element under <${parent}>: <${record}>, taken as the records, and <${seen.name}>, which would not be imported`,
      { hint: `import each kind on its own, into a table of its own: --record-path ${record} --table ..., then --record-path ${seen.name} --table ...${whole}` },
    );
  };
  // Attributes of the elements around the records (not the root's), which no record holds
  // (osinfo-db's <device id="...">, whose <name> children were taken as records; iso-codes'
  // <iso_3166_country code="..."> around --record-path iso_3166_2_entry): said, by element.
  const ancestorAttributes = new Map<string, Set<string>>();
  /** The attribute names of each open element outside the records, by depth (null: none, or the root's). */
  const outerAttributes: Array<string[] | null> = [];
  let outerWithAttributes = 0;
  /** A record opened: the attributes of the elements around it are noted (stack: them, then the record). */
  const noteAncestorAttributes = (): void => {
    for (let i = 1; i < stack.length - 1; i++) {
      const attrs = outerAttributes[i];
      if (!attrs) continue;
      let seen = ancestorAttributes.get(stack[i]!);
      if (seen === undefined) ancestorAttributes.set(stack[i]!, (seen = new Set()));
      for (const a of attrs) if (seen.size < 10) seen.add(a);
    }
  };
  const openElement = (name: string, attributes: Record<string, string>): void => {
    stack.push(name);
    const parent = open.at(-1);
    if (parent === undefined && !matchesRecord(matcher as RecordMatcher, stack)) {
      if (detected && stack.length === (matcher as RecordMatcher).names.length) skipBeside();
      const attrs = stack.length > 1 && hasKeys(attributes) ? Object.keys(attributes).filter((a) => !a.startsWith('xmlns')) : [];
      outerAttributes.push(attrs.length > 0 ? attrs : null);
      if (attrs.length > 0) outerWithAttributes++;
      return;
    }
    if (parent === undefined && outerWithAttributes > 0) noteAncestorAttributes();
    const node: XmlNode = { name, attributes, children: NO_CHILDREN, text: '', at: parent === undefined ? 0 : parent.text.length };
    if (parent) {
      if (parent.children === NO_CHILDREN) parent.children = [node];
      else parent.children.push(node);
    }
    else {
      recordChars = 0;
      recordNodes = 0;
    }
    for (const k in attributes) recordChars += k.length + (attributes[k] as string).length;
    if (++recordNodes > MAX_XML_RECORD_NODES || recordChars > MAX_XML_RECORD_CHARS) tooBig();
    open.push(node);
  };
  const closeElement = (): void => {
    stack.pop();
    const node = open.pop();
    if (node === undefined && outerAttributes.pop()) outerWithAttributes--;
    if (node !== undefined && open.length === 0) {
      rn++;
      const record = flattenXmlRecord(node, columns, rn, notes);
      pending.push({ rn, keys: countKeys(record.keys), values: record.values });
    }
  };
  const addText = (text: string): void => {
    const node = open.at(-1);
    if (node === undefined) return;
    node.text += text;
    recordChars += text.length;
    if (recordChars > MAX_XML_RECORD_CHARS) tooBig();
  };

  // Detection (no record path given): events are kept until the record element is known.
  const detector = matcher === null ? new RecordDetector() : null;
  let kept: ParserEvent[] | null = matcher === null ? [] : null;
  let keptChars = 0;
  const decide = (chosen: RecordMatcher | null): void => {
    if (chosen === null) throw new AtlasError('no XML element found');
    matcher = chosen;
    detected = true;
    const events = kept ?? [];
    kept = null;
    for (const e of events) {
      if ('open' in e) openElement(e.open, e.attributes);
      else if ('close' in e) closeElement();
      else addText(e.text);
    }
  };
  const keep = (e: ParserEvent, chars: number): void => {
    (kept as ParserEvent[]).push(e);
    keptChars += chars;
    if (detector?.decided) decide(detector.decided);
    else if ((kept as ParserEvent[]).length > DETECT_MAX_EVENTS || keptChars > DETECT_MAX_CHARS) decide(detector?.guess() ?? null);
  };

  /**
   * Where sax stands in the document: its own line and column (public, 0-based), shifted by
   * where the fast path handed over (see handOver) rather than written into sax's state.
   */
  let shift: { line: number; column: number; saxLine: number; saxColumn: number } | null = null;
  const saxLine = (): number => (shift === null ? parser.line : shift.line + parser.line - shift.saxLine);
  const saxColumn = (): number => (shift === null || parser.line !== shift.saxLine ? parser.column : shift.column + parser.column - shift.saxColumn);

  // The parser's events, from the fast path (xmlFast.ts) or from sax.
  let depth = 0;
  const events: XmlEvents = {
    open: (name, attributes) => {
      if (depth === 0 && sawElement) throw new AtlasError(`invalid XML at line ${saxLine() + 1}: a second root element <${name}> after the first one closed`);
      sawElement = true;
      if (++depth > MAX_XML_DEPTH) throw new AtlasError(`the XML is nested more than ${MAX_XML_DEPTH} elements deep: atlas refuses such input`);
      if (kept === null) return openElement(name, attributes);
      detector?.open(name);
      keep({ open: name, attributes }, name.length);
    },
    close: () => {
      depth--;
      if (kept === null) return closeElement();
      detector?.close();
      keep({ close: true }, 1);
    },
    text: (text) => {
      if (kept === null) return addText(text);
      // Whitespace too, as after detection: it may be a leaf's text (`<v>   </v>`) or between inline elements of mixed content.
      if (depth > 0) keep({ text }, text.length);
    },
  };
  /** While sax reads the fast path's synthetic prefix (see handOver), its events are not the document's. */
  let muted = false;
  // sax gives attribute values decoded, a literal tab as &#9; gives it: the references to a tab or
  // line end come as stand-ins (parser.ENTITIES, sax's documented table), which outlive the
  // normalisation of literal ones to a space (XML 1.0 §3.3.3) and are then put back.
  Object.assign(parser.ENTITIES, WHITESPACE_REFERENCES);
  parser.onopentag = (tag) => {
    if (muted) return;
    const declared = attributeDefaults?.get(tag.name);
    // Most elements have no attributes: they share one empty object instead of a copy each.
    if (!hasKeys(tag.attributes) && declared === undefined) return events.open(tag.name, NO_ATTRIBUTES);
    const attributes = Object.create(null) as Record<string, string>;
    for (const [name, value] of Object.entries(tag.attributes as Record<string, string>)) {
      attributes[name] = ATTRIBUTE_WHITESPACE.test(value) || WHITESPACE_STAND_INS.test(value) ? withStandInsPutBack(value.replace(/[\t\n\r]/g, ' ')) : value;
    }
    for (const [name, value] of declared ?? []) {
      if (name in attributes) continue;
      attributes[name] = value;
      const where = `${tag.name}/@${name}`;
      defaultsApplied.set(where, (defaultsApplied.get(where) ?? 0) + 1);
    }
    events.open(tag.name, attributes);
  };
  parser.onclosetag = () => {
    if (!muted) events.close();
  };
  parser.ontext = parser.oncdata = (text: string) => {
    if (!muted) events.text(WHITESPACE_STAND_INS.test(text) ? withStandInsPutBack(text) : text);
  };
  parser.ondoctype = (doctype: string) => {
    declaresEntities ||= /<!ENTITY/i.test(doctype);
    if (/<!ATTLIST/.test(doctype)) attributeDefaults = parseAttributeDefaults(doctype);
  };
  parser.onerror = (err: Error) => {
    // `entity` and MAX_BUFFER_LENGTH are sax's own, not documented: sax is pinned, and
    // test/formats/pinnedInternals.test.ts fails by their names when an upgrade changes them.
    const first = err.message.split('\n')[0] ?? err.message;
    const entity = (parser as unknown as { entity?: string }).entity;
    const limit = /^Max buffer length exceeded: (\w+)/.exec(first);
    // A character reference (&#...;) names no entity: it is refused for its number.
    const reference = first === 'Invalid character entity' && entity?.startsWith('#') === true;
    // `AT&T`, `Enewetak & Ujelang`: an & that begins no reference, as XML requires of every & in text.
    const bare = first === 'Invalid character in entity name';
    const what = reference
      ? `invalid character reference &${entity}; (XML allows &#9;, &#10;, &#13; and &#32; to &#1114111; except &#xD800; to &#xDFFF;, &#xFFFE; and &#xFFFF;)`
      : bare
        ? 'an "&" that begins no entity reference'
        : first === 'Invalid character entity' && entity
          ? `undefined entity &${entity};`
          : limit
            ? `${BUFFER_NAMES[limit[1] as string] ?? limit[1]} longer than ${((sax as unknown as { MAX_BUFFER_LENGTH: number }).MAX_BUFFER_LENGTH / 1024).toFixed(0)} KiB, the XML parser's limit`
            : first.replace(/\.$/, '');
    throw new AtlasError(`invalid XML at line ${saxLine() + 1}, column ${saxColumn()}: ${what}`, {
      cause: err,
      hint: bare
        ? 'XML requires a literal & to be written &amp;: the tool that wrote the file did not escape it; fix it there, or replace it in the file'
        : /entity/i.test(first) && !reference
          ? `atlas never expands entities declared in a DTD${declaresEntities ? ' (this file declares some)' : ''} nor fetches external ones: replace the references with their text`
          : null,
    });
  };

  // The fast path reads while the input stays in its subset; sax reads the rest, if any.
  let fast: XmlFastPath | null = options.saxOnly === true ? null : new XmlFastPath(events, NO_ATTRIBUTES);
  const handOver = (over: HandOver): void => {
    fast = null;
    muted = true;
    parser.write(over.prefix);
    muted = false;
    shift = { line: over.line, column: over.column, saxLine: parser.line, saxColumn: parser.column };
    parser.write(over.rest);
  };
  const text = new TextChunks(bytes, (first) => pickXmlEncoding(first, options.encoding));
  const lineEnds = new LineEnds();
  const onText = (raw: string): void => {
    const chunk = lineEnds.normalize(raw);
    if (fast === null) parser.write(chunk);
    else {
      const over = fast.write(chunk);
      if (over !== null) handOver(over);
    }
  };
  const atEnd = (): void => {
    const last = lineEnds.end();
    if (last !== '') onText(last);
    /** The fast path read the document to its end: it is complete, sax has nothing to check. */
    let readToEnd = false;
    if (fast !== null) {
      const over = fast.end();
      if (over === null) readToEnd = true;
      else handOver(over);
    }
    if (!sawElement) throw new AtlasError(text.encoding === null ? 'the file is empty: no XML found' : 'no XML element found: the file is not XML');
    if (!readToEnd) parser.close();
    if (kept !== null) decide(detector?.guess() ?? null);
    if (rn === 0 && options.recordPath !== null) {
      throw new AtlasError(`no element matches --record-path ${options.recordPath}`, { hint: 'give the name of the repeated element (e.g. order) or its path (e.g. orders/order)' });
    }
  };
  const batches = await startPulling(text, pending, onText, atEnd);

  const names = (matcher as RecordMatcher | null)?.names ?? [];
  return {
    kind: 'keyed',
    batches,
    jsonKeys: columns.jsonKeys,
    lateShapes: () => lateShapes(columns, '#text'),
    get warnings() {
      const w = recordKeys.warning();
      const m = matcher as RecordMatcher | null;
      const skipped = m === null || beside.size === 0 ? [] : [besideWarning(m, [...beside.values()])];
      const around = [...ancestorAttributes].filter(([, a]) => a.size > 0);
      const attrs =
        m === null || around.length === 0
          ? []
          : [
              `attribute(s) of the element(s) around the <${m.names.at(-1)}> records, not imported: ${around.map(([e, a]) => `<${e}> (${[...a].join(', ')})`).join(', ')} (take each <${around.at(-1)![0]}> as a record with --record-path ${around.at(-1)![0]})`,
            ];
      return [...(w === null ? [] : [w]), ...skipped, ...attrs, ...mixedContentWarnings(mixed), ...renamedAttributeWarnings(notes.attributesRenamed), ...defaultsWarnings(defaultsApplied)];
    },
    // A getter, as the warnings are: mixed content is known once the last record is read.
    get details() {
      return {
        format: 'xml',
        record_element: names.at(-1) ?? null,
        record_path: names.length > 0 ? `${(matcher as RecordMatcher).anchored ? '/' : ''}${names.join('/')}` : null,
        encoding: text.encoding ?? 'utf-8',
        ...(mixed.size > 0 ? { mixed_content: Object.fromEntries(mixed) } : {}),
        ...(notes.attributesRenamed.size > 0 ? { attributes_renamed: Object.fromEntries(notes.attributesRenamed) } : {}),
        ...(defaultsApplied.size > 0 ? { dtd_attribute_defaults: Object.fromEntries(defaultsApplied) } : {}),
      };
    },
  };
}

/** One warning naming the attributes an element lacked that the DTD gave a default value (as XML 1.0 has every parser do). */
function defaultsWarnings(applied: Map<string, number>): string[] {
  if (applied.size === 0) return [];
  const list = [...applied].map(([where, n]) => `${where} (${n} time(s))`).join(', ');
  return [`attribute value(s) the file's DTD declares as defaults, supplied where an element lacks the attribute, as XML 1.0 has every parser do: ${list} (counted in metadata.dtd_attribute_defaults)`];
}

/** One warning naming the attributes kept as `@name` inside JSON values, beside a child element of their name. */
function renamedAttributeWarnings(renamed: Map<string, number>): string[] {
  if (renamed.size === 0) return [];
  const list = [...renamed].map(([where, n]) => `${where} (${n} time(s))`).join(', ');
  return [`attribute(s) named like a child element of the same element, kept as "@name" in the JSON value beside it: ${list} (counted in metadata.attributes_renamed)`];
}

/** One warning per element name of mixed content: its column holds its whole text, and its child elements are read too. */
function mixedContentWarnings(mixed: MixedContent): string[] {
  return [...mixed].map(
    ([name, n]) =>
      `<${name}> holds text beside child elements (mixed content, ${n} time(s)): its value is its whole text, the child elements' text in place, and its child elements are read as usual too (counted in metadata.mixed_content)`,
  );
}

/** The warning naming the elements left out at the depth of the records, each once, and how to take one or the records' parent instead. */
function besideWarning(m: RecordMatcher, left: ReadonlyArray<{ name: string; parent: string; sameParent: boolean }>): string {
  const record = m.names.at(-1) as string;
  const parent = m.names.at(-2) ?? 'the root';
  const more = left.length > 10 ? ` and ${left.length - 10} more` : '';
  const names = left.slice(0, 10).map((e) => (e.sameParent ? `<${e.name}>` : `<${e.name}> (under <${e.parent}>)`)).join(', ') + more;
  const first = left[0]!;
  const one = first.sameParent ? first.name : `${first.parent}/${first.name}`;
  const whole = m.names.length > 2 ? `, or take each <${parent}> as a record with --record-path ${parent}` : '';
  return `element(s) beside the <${record}> records, under <${parent}>, not imported: ${names} (import one with --record-path ${one}${whole})`;
}
