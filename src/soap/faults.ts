/**
 * SMEV faults: a SOAP 1.1 Fault (HTTP 500) whose detail is the SMEV fault
 * element of the request's version. Every fault carries the request's
 * correlation id as its Code, so a partner's complaint, a log line and a
 * journal record meet. Messages never contain stack traces or internals.
 */
import type { SignatureFaultReason } from '../signature/dsig.js';
import { ns, SOAP11_NS, xmlAttr, xmlText, type SmevVersion } from './namespaces.js';

export type SmevFaultName =
  | 'SignatureVerificationFault'
  | 'InvalidContent'
  | 'BusinessDataTypeIsNotSupported'
  | 'SenderIsNotRegistered'
  | 'MessageIsAlreadySent'
  | 'InvalidMessageIdFormat'
  | 'SMEVFailure'
  | 'RequestIsNotFound'
  | 'TargetMessageIsNotFound'
  | 'UnknownMessageType'
  | 'StaleMessageId';

export interface ValidationErrorDetail {
  message: string;
  position: number;
}

/** A fault the gateway answers with on purpose (never for its own bugs: those become SMEVFailure). */
export class SmevFault extends Error {
  constructor(
    readonly fault: SmevFaultName,
    message: string,
    readonly extra: {
      signatureReason?: SignatureFaultReason;
      validationErrors?: ValidationErrorDetail[];
      rootElement?: { localName: string; namespace: string };
    } = {},
  ) {
    super(message);
    this.name = 'SmevFault';
  }

  /** soap:Client when the sender must change something, soap:Server when retrying later can help. */
  get faultCode(): 'soap:Client' | 'soap:Server' {
    return this.fault === 'SMEVFailure' ? 'soap:Server' : 'soap:Client';
  }
}

const MAX_DESCRIPTION = 2000;

/** Typed basic:Void in the faults XSD: their detail element must stay empty to be schema-valid. */
const VOID_FAULTS = new Set<SmevFaultName>([
  'MessageIsAlreadySent',
  'InvalidMessageIdFormat',
  'SMEVFailure',
  'SenderIsNotRegistered',
  'RequestIsNotFound',
  'TargetMessageIsNotFound',
  'UnknownMessageType',
  'StaleMessageId',
]);

export function faultEnvelope(fault: SmevFault, version: SmevVersion, faultId: string): string {
  const f = ns.faults(version);
  const b = ns.basic(version);
  const description = fault.message.length > MAX_DESCRIPTION ? `${fault.message.slice(0, MAX_DESCRIPTION)}…` : fault.message;
  let body = VOID_FAULTS.has(fault.fault) ? '' : `<b:Code>${xmlText(`OKNO:${faultId}`.slice(0, 50))}</b:Code><b:Description>${xmlText(description)}</b:Description>`;
  if (fault.fault === 'SignatureVerificationFault') {
    body += `<f:SignatureVerificationFault>${fault.extra.signatureReason ?? 'SignatureIsInvalid'}</f:SignatureVerificationFault>`;
  } else if (fault.fault === 'InvalidContent') {
    const errors = fault.extra.validationErrors?.length ? fault.extra.validationErrors : [{ message: description, position: 0 }];
    body += errors.map((e) => `<f:ValidationError errorPosition="${xmlAttr(String(e.position))}">${xmlText(e.message)}</f:ValidationError>`).join('');
  } else if (fault.fault === 'BusinessDataTypeIsNotSupported') {
    const root = fault.extra.rootElement ?? { localName: '', namespace: '' };
    body += `<f:RootElementLocalName>${xmlText(root.localName)}</f:RootElementLocalName><f:RootElementNamespaceURI>${xmlText(root.namespace)}</f:RootElementNamespaceURI>`;
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>` +
    `<soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body><soap:Fault>` +
    `<faultcode>${fault.faultCode}</faultcode><faultstring>${xmlText(`${description} [OKNO:${faultId}]`)}</faultstring>` +
    `<detail><f:${fault.fault} xmlns:f="${f}" xmlns:b="${b}">${body}</f:${fault.fault}></detail>` +
    `</soap:Fault></soap:Body></soap:Envelope>`
  );
}
