/**
 * Reads a ds:Signature element strictly. Anything XMLDSig allows but our
 * profiles don't use (several References, ds:Object, external URIs, XPath
 * transforms, RetrievalMethod) is refused: every extra feature is a place for
 * a wrapping or confusion attack, and SMEV needs none of them.
 */
import { EXC_C14N, EXC_C14N_WITH_COMMENTS, isC14nAlgorithm, parseInclusivePrefixList, type C14nAlgorithm } from '../xml/c14n.js';
import { childElements } from '../xml/helpers.js';
import { SMEV_TRANSFORM } from '../xml/smev-transform.js';
import type { XmlElement } from '../xml/types.js';
import { DSIG_NS, ENVELOPED_SIGNATURE, fail } from './dsig.js';

const EXC_C14N_NS = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const MAX_TRANSFORMS = 4;
const MAX_CERTIFICATES = 4;

export interface Transform {
  algorithm: string;
  /** exc-c14n InclusiveNamespaces PrefixList. */
  inclusivePrefixes: string[];
}

export interface SignatureParts {
  signature: XmlElement;
  signedInfo: XmlElement;
  canonicalization: { algorithm: C14nAlgorithm; inclusivePrefixes: string[] };
  signatureAlgorithm: string;
  reference: {
    element: XmlElement;
    /** The Id the URI points to (without '#'). */
    id: string;
    transforms: Transform[];
    digestAlgorithm: string;
    digestValue: Buffer;
  };
  signatureValue: Buffer;
  /** DER of the X509Certificate elements of KeyInfo, in document order. */
  certificates: Buffer[];
}

/** The child elements of `el`, refusing non-whitespace text between them. */
function elementChildren(el: XmlElement): XmlElement[] {
  for (const node of el.children) {
    if (node.type === 'text' && node.value.trim() !== '') fail('SignatureIsInvalid', `unexpected text inside ds:${el.localName}`);
  }
  return childElements(el);
}

function expectDsig(el: XmlElement | undefined, localName: string, where: string): XmlElement {
  if (!el || el.namespaceURI !== DSIG_NS || el.localName !== localName) {
    return fail('SignatureIsInvalid', `expected ds:${localName} in ${where}, found ${el ? `<${el.qName}>` : 'nothing'}`);
  }
  return el;
}

function algorithmOf(el: XmlElement): string {
  const attr = el.attributes.find((a) => a.localName === 'Algorithm' && a.namespaceURI === '');
  if (!attr || attr.value === '') return fail('SignatureIsInvalid', `ds:${el.localName} has no Algorithm`);
  return attr.value;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The base64 content of DigestValue / SignatureValue / X509Certificate: only
 * text (no comments, no elements, no CDATA tricks that hide content), only
 * base64 characters and whitespace, and canonical padding.
 */
export function strictBase64(el: XmlElement): Buffer {
  let text = '';
  for (const node of el.children) {
    if (node.type !== 'text') fail('SignatureIsInvalid', `ds:${el.localName} must hold only base64 text, found a ${node.type === 'element' ? 'child element' : node.type}`);
    else text += node.value;
  }
  const compact = text.replace(/[ \t\r\n]+/g, '');
  if (compact.length === 0 || compact.length % 4 !== 0 || !BASE64.test(compact)) {
    fail('SignatureIsInvalid', `ds:${el.localName} is not valid base64`);
  }
  return Buffer.from(compact, 'base64');
}

export function readSignature(signature: XmlElement): SignatureParts {
  expectDsig(signature, 'Signature', 'the signature container');
  const parts = elementChildren(signature);
  const signedInfo = expectDsig(parts[0], 'SignedInfo', 'ds:Signature');
  const signatureValueEl = expectDsig(parts[1], 'SignatureValue', 'ds:Signature after ds:SignedInfo');
  const rest = parts.slice(2);
  if (rest.length > 1 || (rest[0] && !(rest[0].namespaceURI === DSIG_NS && rest[0].localName === 'KeyInfo'))) {
    fail('SignatureIsInvalid', `ds:Signature may hold only SignedInfo, SignatureValue and KeyInfo; found <${rest.find((e) => e.localName !== 'KeyInfo')?.qName ?? rest[1]!.qName}>`);
  }

  const [c14nEl, sigMethodEl, ...references] = elementChildren(signedInfo);
  expectDsig(c14nEl, 'CanonicalizationMethod', 'ds:SignedInfo');
  expectDsig(sigMethodEl, 'SignatureMethod', 'ds:SignedInfo');
  if (references.length !== 1) fail('SignatureIsInvalid', `ds:SignedInfo must hold exactly one ds:Reference, found ${references.length}`);
  const referenceEl = expectDsig(references[0], 'Reference', 'ds:SignedInfo');
  if (elementChildren(sigMethodEl!).length > 0) fail('SignatureIsInvalid', 'ds:SignatureMethod must be empty (no HMACOutputLength or other parameters)');

  const c14nAlgorithm = algorithmOf(c14nEl!);
  if (!isC14nAlgorithm(c14nAlgorithm)) fail('SignatureIsInvalid', `canonicalization ${c14nAlgorithm} is not supported`);

  return {
    signature,
    signedInfo,
    canonicalization: { algorithm: c14nAlgorithm as C14nAlgorithm, inclusivePrefixes: inclusivePrefixes(c14nEl!) },
    signatureAlgorithm: algorithmOf(sigMethodEl!),
    reference: readReference(referenceEl),
    signatureValue: strictBase64(signatureValueEl),
    certificates: rest[0] ? readKeyInfo(rest[0]) : [],
  };
}

function inclusivePrefixes(el: XmlElement): string[] {
  const algorithm = algorithmOf(el);
  const params = elementChildren(el);
  if (params.length === 0) return [];
  const [ns] = params;
  if (params.length > 1 || !ns || ns.namespaceURI !== EXC_C14N_NS || ns.localName !== 'InclusiveNamespaces' || (algorithm !== EXC_C14N && algorithm !== EXC_C14N_WITH_COMMENTS)) {
    return fail('SignatureIsInvalid', `unexpected parameters in ds:${el.localName}`);
  }
  const list = ns.attributes.find((a) => a.localName === 'PrefixList' && a.namespaceURI === '');
  return list ? parseInclusivePrefixList(list.value) : [];
}

const ID_REF = /^#([A-Za-z_][\w.-]*)$/;

function readReference(el: XmlElement): SignatureParts['reference'] {
  const uri = el.attributes.find((a) => a.localName === 'URI' && a.namespaceURI === '')?.value;
  if (uri === undefined) return fail('IncorrectSignatureTarget', 'ds:Reference has no URI: the whole document would be signed, not the element the profile requires');
  const match = ID_REF.exec(uri);
  if (!match) return fail('IncorrectSignatureTarget', `ds:Reference URI "${uri.slice(0, 80)}" is not a same-document reference by Id (#id)`);

  const children = elementChildren(el);
  let index = 0;
  let transforms: Transform[] = [];
  if (children[0]?.namespaceURI === DSIG_NS && children[0].localName === 'Transforms') {
    const list = elementChildren(children[0]);
    if (list.length === 0 || list.length > MAX_TRANSFORMS) fail('SignatureIsInvalid', `ds:Transforms must list 1 to ${MAX_TRANSFORMS} transforms`);
    transforms = list.map((t) => {
      expectDsig(t, 'Transform', 'ds:Transforms');
      return { algorithm: algorithmOf(t), inclusivePrefixes: inclusivePrefixes(t) };
    });
    index = 1;
  }
  const digestMethod = expectDsig(children[index], 'DigestMethod', 'ds:Reference');
  const digestValue = expectDsig(children[index + 1], 'DigestValue', 'ds:Reference after ds:DigestMethod');
  if (children.length !== index + 2) fail('SignatureIsInvalid', 'ds:Reference holds unexpected elements');
  if (elementChildren(digestMethod).length > 0) fail('SignatureIsInvalid', 'ds:DigestMethod must be empty');
  checkTransformChain(transforms);
  return { element: el, id: match[1]!, transforms, digestAlgorithm: algorithmOf(digestMethod), digestValue: strictBase64(digestValue) };
}

/**
 * Allowed chains: [enveloped-signature] then at most one canonicalization,
 * then optionally the SMEV transform (which takes octets). Nothing may follow
 * the SMEV transform, and enveloped-signature needs a node-set (so it must come
 * before any canonicalization).
 */
function checkTransformChain(transforms: Transform[]): void {
  let octets = false;
  let smev = false;
  transforms.forEach((t, i) => {
    if (smev) fail('SignatureIsInvalid', 'no transform may follow the SMEV transform');
    if (t.algorithm === ENVELOPED_SIGNATURE) {
      if (i !== 0) fail('SignatureIsInvalid', 'enveloped-signature must be the first transform');
    } else if (isC14nAlgorithm(t.algorithm)) {
      if (octets) fail('SignatureIsInvalid', 'only one canonicalization transform is allowed');
      octets = true;
    } else if (t.algorithm === SMEV_TRANSFORM) {
      smev = true;
    } else {
      fail('SignatureIsInvalid', `transform ${t.algorithm.slice(0, 100)} is not allowed`);
    }
  });
}

function readKeyInfo(keyInfo: XmlElement): Buffer[] {
  const data = elementChildren(keyInfo);
  if (data.length !== 1 || data[0]!.namespaceURI !== DSIG_NS || data[0]!.localName !== 'X509Data') {
    return fail('CertificateIsNotFound', 'ds:KeyInfo must hold exactly one ds:X509Data (RetrievalMethod, KeyName and KeyValue are not accepted)');
  }
  const certs = elementChildren(data[0]!).filter((e) => e.namespaceURI === DSIG_NS && e.localName === 'X509Certificate');
  if (certs.length === 0) fail('CertificateIsNotFound', 'ds:X509Data holds no ds:X509Certificate');
  if (certs.length > MAX_CERTIFICATES) fail('SignatureIsInvalid', `ds:X509Data holds more than ${MAX_CERTIFICATES} certificates`);
  return certs.map(strictBase64);
}
