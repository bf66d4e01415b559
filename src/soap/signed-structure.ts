/**
 * The shape of the signed SenderProvidedRequestData / SenderProvidedResponseData,
 * as the message-exchange XSD (1.1–1.3) orders it. A signature proves who sent
 * the element, not that it is well-formed SMEV: a second MessageID, an unknown
 * element, or MessagePrimaryContent before MessageID would otherwise be read
 * by "the first child named X" and accepted. Checked by position, once per
 * message, before anything is read from it; a violation is InvalidContent
 * naming the element.
 */
import { SmevFault } from './faults.js';
import type { XmlElement } from '../xml/types.js';

const SMEV_NS = /^urn:\/\/x-artefacts-smev-gov-ru\/services\/message-exchange\/types\/(basic\/)?1\.[123]$/;

interface Item {
  name: string;
  min: 0 | 1;
  max: number;
}

const one = (name: string): Item => ({ name, min: 1, max: 1 });
const optional = (name: string): Item => ({ name, min: 0, max: 1 });

const REQUEST: readonly Item[] = [
  one('MessageID'),
  optional('ReferenceMessageID'),
  optional('TransactionCode'),
  optional('NodeID'),
  optional('EOL'),
  one('MessagePrimaryContent'),
  optional('PersonalSignature'),
  optional('AttachmentHeaderList'),
  optional('RefAttachmentHeaderList'),
  optional('BusinessProcessMetadata'),
  optional('TestMessage'),
];

const RESPONSE_HEAD: readonly Item[] = [one('MessageID'), one('To')];
/** The choice after To, chosen by its first element. */
const RESPONSE_BRANCHES: Readonly<Record<string, readonly Item[]>> = {
  MessagePrimaryContent: [one('MessagePrimaryContent'), optional('PersonalSignature'), optional('AttachmentHeaderList'), optional('RefAttachmentHeaderList')],
  RequestRejected: [{ name: 'RequestRejected', min: 1, max: Number.POSITIVE_INFINITY }],
  RequestStatus: [one('RequestStatus')],
  AsyncProcessingStatus: [one('AsyncProcessingStatus')],
};

/** Elements whose content is text only. */
const TEXT_ONLY = new Set(['MessageID', 'ReferenceMessageID', 'TransactionCode', 'NodeID', 'EOL', 'To', 'TestMessage']);

function invalid(signed: XmlElement, at: XmlElement | null, message: string): never {
  const path = `${signed.localName}${at ? `/${at.localName}` : ''}`;
  throw new SmevFault('InvalidContent', `${path}: ${message}`, { validationErrors: [{ message: `${path}: ${message}`, position: (at ?? signed).start }] });
}

function elementsOf(signed: XmlElement): XmlElement[] {
  const out: XmlElement[] = [];
  for (const n of signed.children) {
    if (n.type === 'element') {
      if (!SMEV_NS.test(n.namespaceURI)) invalid(signed, n, `element {${n.namespaceURI}}${n.localName} is not allowed here`);
      if (TEXT_ONLY.has(n.localName) && n.children.some((c) => c.type === 'element')) invalid(signed, n, 'must hold text only');
      out.push(n);
    } else if (n.type === 'text' && n.value.trim() !== '') {
      invalid(signed, null, 'text is not allowed between its elements');
    }
  }
  return out;
}

/** Matches `children` from `start` against `items` in order; returns where it stopped. */
function matchSequence(signed: XmlElement, children: XmlElement[], start: number, items: readonly Item[]): number {
  let i = start;
  for (const item of items) {
    let count = 0;
    while (i < children.length && children[i]!.localName === item.name) {
      count++;
      if (count > item.max) invalid(signed, children[i]!, `${item.name} occurs more than ${item.max === 1 ? 'once' : `${item.max} times`}`);
      i++;
    }
    if (count < item.min) invalid(signed, children[i] ?? null, `${item.name} is required${children[i] ? ` before ${children[i]!.localName}` : ''}`);
  }
  return i;
}

export function checkSignedStructure(signed: XmlElement, kind: 'request' | 'response'): void {
  const children = elementsOf(signed);
  let end: number;
  if (kind === 'request') {
    end = matchSequence(signed, children, 0, REQUEST);
  } else {
    const afterHead = matchSequence(signed, children, 0, RESPONSE_HEAD);
    const branch = RESPONSE_BRANCHES[children[afterHead]?.localName ?? ''];
    if (!branch) invalid(signed, children[afterHead] ?? null, 'after To comes MessagePrimaryContent, RequestRejected, RequestStatus or AsyncProcessingStatus');
    end = matchSequence(signed, children, afterHead, branch);
  }
  if (end < children.length) invalid(signed, children[end]!, `${children[end]!.localName} is not allowed here (unknown, repeated or out of order)`);
}
