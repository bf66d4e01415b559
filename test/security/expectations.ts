/** What every answer to hostile input must be, shared by the corpus and the fuzzer. */
import { expect } from 'vitest';
import { parseXml } from '../../src/xml/parser.js';

/** The SMEV fault names the gateway may answer input with (SMEVFailure is not among them: it means the store is down). */
export const KNOWN_FAULTS: ReadonlySet<string> = new Set([
  'SignatureVerificationFault',
  'InvalidContent',
  'BusinessDataTypeIsNotSupported',
  'SenderIsNotRegistered',
  'MessageIsAlreadySent',
  'InvalidMessageIdFormat',
  'StaleMessageId',
  'RequestIsNotFound',
  'TargetMessageIsNotFound',
  'UnknownMessageType',
]);

export const SIGNATURE_REASONS: ReadonlySet<string> = new Set([
  'PoorSOAPEnvelopeFormat',
  'NoSignatureFound',
  'IncorrectSignatureTarget',
  'SignatureIsInvalid',
  'CertificateIsNotFound',
  'CertificateIsExpired',
]);

export interface FaultShape {
  fault: string;
  reason: string | null;
}

/**
 * Why `res` is not an acceptable answer to bad input, or null when it is: a
 * SOAP 1.1 Fault (HTTP 500, or 4xx for transport problems) that parses, whose
 * detail is one known SMEV fault (with a known reason for signature faults),
 * and no stack trace.
 */
export function faultProblem(res: { status: number; body: string }): string | null {
  if (res.status !== 500 && (res.status < 400 || res.status > 499)) return `HTTP ${res.status}`;
  let shape: FaultShape | null;
  try {
    shape = faultShape(res.body);
  } catch (error) {
    return `the reply is not XML: ${(error as Error).message}`;
  }
  if (!shape) return 'the reply is no SOAP Fault with a SMEV fault detail';
  if (!KNOWN_FAULTS.has(shape.fault)) return `fault ${shape.fault}`;
  if (shape.fault === 'SignatureVerificationFault' && !SIGNATURE_REASONS.has(shape.reason ?? '')) return `signature reason ${shape.reason}`;
  if (/\n\s+at |Error:|node_modules|\/src\//.test(res.body)) return 'the reply leaks internals';
  return null;
}

/** The fault element and signature reason of a fault reply, read with the gateway's own strict parser. */
export function faultShape(body: string): FaultShape | null {
  const doc = parseXml(body);
  const [bodyEl] = doc.root.children.filter((c) => c.type === 'element');
  const fault = bodyEl?.type === 'element' ? bodyEl.children.find((c) => c.type === 'element' && c.localName === 'Fault') : undefined;
  if (!fault || fault.type !== 'element') return null;
  const detail = fault.children.find((c) => c.type === 'element' && c.localName === 'detail');
  const element = detail?.type === 'element' ? detail.children.find((c) => c.type === 'element') : undefined;
  if (!element || element.type !== 'element') return null;
  const reasonEl = element.children.find((c) => c.type === 'element' && c.localName === 'SignatureVerificationFault');
  const reason = reasonEl?.type === 'element' ? reasonEl.children.map((c) => (c.type === 'text' ? c.value : '')).join('') : null;
  return { fault: element.localName, reason };
}

export function expectWellFormedFault(res: { status: number; body: string }): void {
  expect(faultProblem(res), res.body.slice(0, 800)).toBeNull();
}
