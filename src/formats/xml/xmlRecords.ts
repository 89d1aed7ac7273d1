/**
 * Pure parts of the XML reader: which elements are records, and how a record's element tree
 * becomes columns. No sax import.
 */
import { UsageError } from '../../errors.js';
import { noteJson, noteMember, noteOwn, noteRepeated, type KeyShapes } from '../shared/index.js';
import { decodeEntities } from './xmlFast.js';

/** One element of a record, as built from parser events. */
export interface XmlNode {
  name: string;
  attributes: Record<string, string>;
  children: XmlNode[];
  /** Text and CDATA directly inside the element, joined. */
  text: string;
  /** Where the element starts in its parent's `text` (a child of mixed content stands there); absent: at its end. */
  at?: number;
}

/** Elements of mixed content (text beside child elements), by name: how many (see textOf). */
export type MixedContent = Map<string, number>;

/** What reading records noticed, for the import's warnings and metadata. */
export interface XmlNotes {
  mixed: MixedContent;
  /** Attributes kept as `@name` in a JSON value beside a child element of their name, by `element/@name`: how many. */
  attributesRenamed: Map<string, number>;
}

/** Which elements are records: the last names of their path must equal `names`. */
export interface RecordMatcher {
  names: string[];
  /** The path starts at the root element (a detected path, or one given with a leading "/"). */
  anchored: boolean;
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon < 0 ? name : name.slice(colon + 1);
}

/** `order`, `orders/order` or `/orders/order` -> a matcher. */
export function parseXmlRecordPath(recordPath: string): RecordMatcher {
  const anchored = recordPath.startsWith('/');
  const names = recordPath.split('/').filter((s, i) => !(i === 0 && anchored && s === ''));
  if (names.length === 0 || names.some((n) => n === '' || /\s/.test(n))) {
    throw new UsageError(`--record-path "${recordPath}" is not an element name or a path like orders/order`);
  }
  return { names, anchored };
}

/** True when the element at the end of `stack` (names from the root) is a record. */
export function matchesRecord(matcher: RecordMatcher, stack: readonly string[]): boolean {
  const { names } = matcher;
  if (matcher.anchored ? stack.length !== names.length : stack.length < names.length) return false;
  const offset = stack.length - names.length;
  for (let i = 0; i < names.length; i++) {
    const want = names[i] as string;
    const have = stack[offset + i] as string;
    if (have !== want && localName(have) !== want) return false;
  }
  return true;
}

/**
 * True when the element at the end of `stack` is not a record but sits beside them: under the
 * same parent as a detected record path (anchored, so the parent is one place).
 */
export function besideRecords(matcher: RecordMatcher, stack: readonly string[]): boolean {
  const { names } = matcher;
  if (!matcher.anchored || stack.length !== names.length) return false;
  for (let i = 0; i < names.length - 1; i++) if (stack[i] !== names[i]) return false;
  return true;
}

/**
 * Watches the first elements of a document to find the record element: a child of the root
 * that repeats decides at once; otherwise, when asked, the shallowest element that repeats
 * under one parent (the most repeated among equals), else the root's first child.
 */
export class RecordDetector {
  private readonly stack: Array<{ name: string; childCounts: Map<string, number> }> = [];
  /** Path (joined by "/") -> [depth, highest count under one parent]. */
  private readonly repeats = new Map<string, { names: string[]; count: number }>();
  private firstChild: string[] | null = null;
  private root: string | null = null;
  /** Set once a child of the root repeats. */
  decided: RecordMatcher | null = null;

  open(name: string): void {
    const parent = this.stack.at(-1);
    if (parent) {
      const count = (parent.childCounts.get(name) ?? 0) + 1;
      parent.childCounts.set(name, count);
      const names = [...this.stack.map((e) => e.name), name];
      if (this.stack.length === 1) this.firstChild ??= names;
      if (count >= 2) {
        const key = names.join('/');
        const seen = this.repeats.get(key);
        if (!seen || seen.count < count) this.repeats.set(key, { names, count });
        if (this.stack.length === 1 && this.decided === null) this.decided = { names, anchored: true };
      }
    } else this.root ??= name;
    this.stack.push({ name, childCounts: new Map() });
  }

  close(): void {
    this.stack.pop();
  }

  /** The best guess from what was seen, or null when the document has no elements. */
  guess(): RecordMatcher | null {
    if (this.decided) return this.decided;
    let best: { names: string[]; count: number } | null = null;
    for (const r of this.repeats.values()) {
      if (best === null || r.names.length < best.names.length || (r.names.length === best.names.length && r.count > best.count)) best = r;
    }
    if (best) return { names: best.names, anchored: true };
    if (this.firstChild) return { names: this.firstChild, anchored: true };
    return this.root === null ? null : { names: [this.root], anchored: true };
  }
}

/**
 * Text of an element, or null for none: an element without child elements keeps whitespace-only
 * text (`<v>   </v>`, as a CSV field of spaces is kept), an element with some holds only
 * indentation there. Text beside child elements (mixed content: `Hello <b>bold</b> world`) is
 * the element's whole text, its children's text in place (`Hello bold world`), counted in `mixed`.
 */
function textOf(node: XmlNode, mixed?: MixedContent): string | null {
  if (node.children.length === 0) return node.text === '' ? null : node.text;
  if (!/\S/.test(node.text)) return null;
  mixed?.set(node.name, (mixed.get(node.name) ?? 0) + 1);
  return wholeText(node);
}

/** An element's text with its children's in place (XPath's string value). */
function wholeText(node: XmlNode): string {
  let out = '';
  let from = 0;
  for (const child of node.children) {
    const at = child.at ?? node.text.length;
    out += node.text.slice(from, at) + wholeText(child);
    from = at;
  }
  return out + node.text.slice(from);
}

/** Whether `o` has any enumerable key (without building the list of keys). */
export function hasKeys(o: object): boolean {
  for (const _ in o) return true;
  return false;
}

function isLeaf(node: XmlNode): boolean {
  return node.children.length === 0 && !hasKeys(node.attributes);
}

function groupByName(nodes: XmlNode[]): Map<string, XmlNode[]> {
  const groups = new Map<string, XmlNode[]>();
  for (const n of nodes) {
    const list = groups.get(n.name);
    if (list) list.push(n);
    else groups.set(n.name, [n]);
  }
  return groups;
}

/**
 * An element as a JSON value: a leaf is its text (or null); otherwise an object of its
 * attributes and children (repeated children as arrays), its own text under "#text". An
 * attribute named like a child element is kept as `@name` (no element is named so), counted in
 * `notes`: the child's value took its place before.
 */
export function xmlToJson(node: XmlNode, notes?: XmlNotes): unknown {
  if (isLeaf(node)) return textOf(node);
  const out = Object.create(null) as Record<string, unknown>;
  const groups = groupByName(node.children);
  for (const attr in node.attributes) {
    if (!groups.has(attr)) out[attr] = node.attributes[attr];
    else {
      out[`@${attr}`] = node.attributes[attr];
      if (notes) notes.attributesRenamed.set(`${node.name}/@${attr}`, (notes.attributesRenamed.get(`${node.name}/@${attr}`) ?? 0) + 1);
    }
  }
  for (const [name, list] of groups) out[name] = list.length > 1 ? list.map((n) => xmlToJson(n, notes)) : xmlToJson(list[0] as XmlNode, notes);
  const text = textOf(node, notes?.mixed);
  if (text !== null) out['#text'] = text;
  return out;
}

/** Whether the elements all have different names (so none repeats): the usual record. */
function distinctNames(nodes: XmlNode[]): boolean {
  const n = nodes.length;
  if (n < 2) return true;
  if (n <= 16) {
    for (let i = 1; i < n; i++) {
      const name = (nodes[i] as XmlNode).name;
      for (let j = 0; j < i; j++) if ((nodes[j] as XmlNode).name === name) return false;
    }
    return true;
  }
  return new Set(nodes.map((c) => c.name)).size === n;
}

/**
 * Each group of same-named elements, in first-seen order: `each(name, first, list)`, `list`
 * being null for an element whose name does not repeat. Where no name repeats (most records),
 * no Map of lists is built.
 */
function eachGroup(nodes: XmlNode[], each: (name: string, first: XmlNode, list: XmlNode[] | null) => void): void {
  if (distinctNames(nodes)) for (const n of nodes) each(n.name, n, null);
  else for (const [name, list] of groupByName(nodes)) each(name, list[0] as XmlNode, list.length > 1 ? list : null);
}

/**
 * A record's columns: its attributes (`id`), its children's text (`name`), a child's attributes
 * (`child_attr`) and grandchildren (`child_grandchild`); repeated children, and anything deeper,
 * as JSON text whose keys join `jsonKeys`. The record's own text, if any, is under its own name.
 * An element's text beside child elements is its whole text, counted in `mixed` (see textOf).
 * Once a key holds JSON, later records write it as JSON too (a child seen repeated before, when
 * single, as itself: castSql makes it an array of one), so the column stays valid JSON from that record on. Keys in the
 * order met; one met twice (an attribute and a child of the same name) is renamed by RecordKeys.
 */
export function flattenXmlRecord(record: XmlNode, columns: KeyShapes, rn = 0, notes?: XmlNotes): { keys: string[]; values: Array<string | null> } {
  const mixed = notes?.mixed;
  const keys: string[] = [];
  const values: Array<string | null> = [];
  const { jsonKeys, repeated } = columns;
  const set = (key: string, value: string | null): void => {
    keys.push(key);
    values.push(value);
  };
  const asJson = (key: string, value: unknown): void => {
    set(key, JSON.stringify(value));
    noteJson(columns, key, rn);
  };
  /** Writes a group of same-named elements (`list` null: just `first`); false when the caller should flatten the single one. */
  const put = (key: string, first: XmlNode, list: XmlNode[] | null, mayFlatten: boolean): boolean => {
    if (list !== null) noteRepeated(columns, key, rn);
    if (list !== null) asJson(key, list.map((n) => xmlToJson(n, notes)));
    else if (repeated.has(key)) asJson(key, xmlToJson(first, notes));
    else if (!isLeaf(first)) {
      if (mayFlatten) return false;
      asJson(key, xmlToJson(first, notes));
    } else if (jsonKeys.has(key)) asJson(key, textOf(first));
    else set(key, textOf(first));
    return true;
  };
  for (const attr in record.attributes) {
    noteOwn(columns, attr);
    set(attr, record.attributes[attr] as string);
  }
  const ownText = textOf(record, mixed);
  if (ownText !== null) {
    noteOwn(columns, record.name);
    set(record.name, ownText);
  }
  eachGroup(record.children, (name, child, list) => {
    noteOwn(columns, name);
    if (put(name, child, list, true)) return;
    for (const attr in child.attributes) {
      noteMember(columns, `${name}_${attr}`, name, attr);
      set(`${name}_${attr}`, child.attributes[attr] as string);
    }
    const childText = textOf(child, mixed);
    if (childText !== null) set(name, childText);
    eachGroup(child.children, (inner, first, innerList) => {
      noteMember(columns, `${name}_${inner}`, name, inner);
      put(`${name}_${inner}`, first, innerList, false);
    });
  });
  return { keys, values };
}

/** Attribute defaults a DTD declares, by element name: the attributes an element lacks get these values. */
export type AttributeDefaults = Map<string, Array<[string, string]>>;

/**
 * The default attribute values the internal subset of a DOCTYPE declares (`<!ATTLIST glob weight
 * CDATA "50">`, `#FIXED "v"` too), which XML 1.0 §5.1 has even a non-validating parser supply.
 * The first declaration of an attribute binds (§3.3). A declaration this does not read (a
 * parameter entity in it, an entity reference in a value) is left out: nothing is guessed.
 */
export function parseAttributeDefaults(doctype: string): AttributeDefaults {
  const defaults: AttributeDefaults = new Map();
  /** Every attribute declared, with a default or not: a later declaration of one does not bind. */
  const declared = new Set<string>();
  const text = doctype.replace(/<!--[\s\S]*?-->/g, ' ');
  const declaration = /<!ATTLIST\s+([^\s>%]+)((?:[^>"']|"[^"]*"|'[^']*')*)>/g;
  const definition = /^\s*([^\s%()]+)\s+(?:NOTATION\s*)?(\([^)]*\)|[A-Z]+)\s+(#REQUIRED|#IMPLIED|(?:#FIXED\s+)?("[^"]*"|'[^']*'))/;
  for (let m = declaration.exec(text); m !== null; m = declaration.exec(text)) {
    const element = m[1]!;
    let rest = m[2]!;
    const list = defaults.get(element) ?? [];
    for (let d = definition.exec(rest); d !== null; d = definition.exec(rest)) {
      rest = rest.slice(d[0].length);
      const key = `${element} ${d[1]!}`;
      if (declared.has(key)) continue;
      declared.add(key);
      if (d[4] === undefined) continue;
      const value = decodeEntities(d[4].slice(1, -1).replace(/[\t\n\r]/g, ' '));
      if (value !== null) list.push([d[1]!, value]);
    }
    if (list.length > 0) defaults.set(element, list);
  }
  return defaults;
}
