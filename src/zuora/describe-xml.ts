// A deliberately small XML reader for Zuora's describe output: elements, attributes, text, CDATA, comments,
// entities. No DTDs, no namespaces beyond keeping the prefixed name. Enough for a well-formed describe document.

import { ZuoraProtocolError, type ErrorContext } from '../errors.ts';
import type { DescribedField, ObjectDescription } from './types.ts';

export interface XmlElement {
  name: string;
  attributes: Record<string, string>;
  children: XmlElement[];
  /** Concatenated, entity-decoded text directly inside this element. */
  text: string;
}

const NAMED_ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-zA-Z]+);/g, (whole, body: string) => {
    if (body.startsWith('#x')) return safeCodePoint(parseInt(body.slice(2), 16)) ?? whole;
    if (body.startsWith('#')) return safeCodePoint(parseInt(body.slice(1), 10)) ?? whole;
    return NAMED_ENTITIES[body] ?? whole;
  });
}

function safeCodePoint(n: number): string | undefined {
  return Number.isInteger(n) && n >= 0 && n <= 0x10ffff ? String.fromCodePoint(n) : undefined;
}

class XmlSyntaxError extends Error {}

/** Parses a document and returns its root element. Throws XmlSyntaxError on malformed input. */
export function parseXml(xml: string): XmlElement {
  let pos = 0;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;

  const fail = (what: string): never => {
    throw new XmlSyntaxError(`${what} at offset ${pos}`);
  };
  const skipPast = (token: string): void => {
    const end = xml.indexOf(token, pos);
    if (end < 0) fail(`unterminated construct (expected "${token}")`);
    pos = end + token.length;
  };

  while (pos < xml.length) {
    const lt = xml.indexOf('<', pos);
    const textEnd = lt < 0 ? xml.length : lt;
    if (textEnd > pos) {
      const text = xml.slice(pos, textEnd);
      const top = stack[stack.length - 1];
      if (top) top.text += decodeEntities(text);
      else if (text.trim()) fail('text outside the root element');
      pos = textEnd;
      continue;
    }
    if (xml.startsWith('<?', pos)) skipPast('?>');
    else if (xml.startsWith('<!--', pos)) skipPast('-->');
    else if (xml.startsWith('<![CDATA[', pos)) {
      const end = xml.indexOf(']]>', pos);
      if (end < 0) fail('unterminated CDATA');
      const top = stack[stack.length - 1];
      if (!top) fail('CDATA outside the root element');
      else top.text += xml.slice(pos + 9, end);
      pos = end + 3;
    } else if (xml.startsWith('<!', pos)) skipPast('>');
    else if (xml.startsWith('</', pos)) {
      const end = xml.indexOf('>', pos);
      if (end < 0) fail('unterminated closing tag');
      const name = xml.slice(pos + 2, end).trim();
      const open = stack.pop();
      if (!open || open.name !== name) fail(`closing tag </${name}> does not match <${open?.name ?? ''}>`);
      pos = end + 1;
    } else {
      const match = /^<([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*(\/?)>/.exec(
        xml.slice(pos, pos + 4096),
      );
      if (!match) fail('malformed tag');
      const [whole, name = '', attrText = '', selfClosing] = match ?? [];
      const attributes: Record<string, string> = {};
      for (const a of attrText.matchAll(/([A-Za-z_][\w.:-]*)\s*=\s*(?:"([^"]*)"|'([^']*)')/g)) {
        attributes[a[1] ?? ''] = decodeEntities(a[2] ?? a[3] ?? '');
      }
      const element: XmlElement = { name, attributes, children: [], text: '' };
      const parent = stack[stack.length - 1];
      if (parent) parent.children.push(element);
      else if (root) fail('a second root element');
      else root = element;
      if (!selfClosing) stack.push(element);
      pos += (whole ?? '').length;
    }
  }
  if (stack.length > 0) fail(`<${stack[stack.length - 1]?.name ?? ''}> is never closed`);
  if (!root) fail('no root element');
  return root as XmlElement;
}

function child(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((c) => c.name === name);
}

function childText(element: XmlElement, name: string): string {
  return child(element, name)?.text.trim() ?? '';
}

/** True when the text looks like a describe document (root <object> with a <name>). */
export function isDescribeDocument(xml: string): boolean {
  return /<object[\s>]/.test(xml) && /<name[\s>]/.test(xml);
}

/** Reads Zuora's describe XML into an ObjectDescription. */
export function parseDescribeXml(xml: string, context: ErrorContext = {}): ObjectDescription {
  let root: XmlElement;
  try {
    root = parseXml(xml);
  } catch (error) {
    if (!(error instanceof XmlSyntaxError)) throw error;
    throw new ZuoraProtocolError(`Zuora's describe answer is not well-formed XML: ${error.message}`, { context, cause: error });
  }
  if (root.name !== 'object') {
    throw new ZuoraProtocolError(`Zuora's describe answer has root <${root.name}>, expected <object>`, { context });
  }
  const name = childText(root, 'name');
  if (!name) throw new ZuoraProtocolError("Zuora's describe answer has no object <name>", { context });
  const fields: DescribedField[] = (child(root, 'fields')?.children ?? [])
    .filter((f) => f.name === 'field')
    .map((f) => ({
      name: childText(f, 'name'),
      label: childText(f, 'label'),
      type: childText(f, 'type'),
      contexts: (child(f, 'contexts')?.children ?? []).filter((c) => c.name === 'context').map((c) => c.text.trim()),
    }))
    .filter((f) => f.name !== '');
  const relatedObjects = (child(root, 'related-objects')?.children ?? [])
    .filter((o) => o.name === 'object')
    .map((o) => childText(o, 'name'))
    .filter((n) => n !== '');
  return { name, fields, relatedObjects };
}
