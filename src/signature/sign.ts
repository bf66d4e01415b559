/**
 * Signing with the two profiles Okno speaks:
 * - `smev`: exc-c14n, then the SMEV transform (what SMEV 3 participants expect);
 * - `xmldsig`: exc-c14n only (what standard tools such as xmlsec1 verify).
 * The Signature is produced as text from a fixed template: nothing to parse
 * per message but the element being signed.
 */
import { excC14n, EXC_C14N } from '../xml/c14n.js';
import { parseXml } from '../xml/parser.js';
import { SMEV_TRANSFORM } from '../xml/smev-transform.js';
import type { XmlDocument, XmlElement } from '../xml/types.js';
import { DSIG_NS, ENVELOPED_SIGNATURE } from './dsig.js';
import { referenceDigest } from './reference-digest.js';
import type { Signer } from '../pki/signer.js';
import { snapshotOf } from '../pki/swappable-signer.js';
import type { Transform } from './structure.js';

export type SignatureProfile = 'smev' | 'xmldsig';

export const PROFILES: readonly SignatureProfile[] = ['smev', 'xmldsig'];

export function profileTransforms(profile: SignatureProfile, enveloped: boolean): Transform[] {
  const list = [EXC_C14N, ...(profile === 'smev' ? [SMEV_TRANSFORM] : [])];
  return [...(enveloped ? [ENVELOPED_SIGNATURE] : []), ...list].map((algorithm) => ({ algorithm, inclusivePrefixes: [] }));
}

export function idOf(el: XmlElement): string | null {
  return el.attributes.find((a) => (a.localName === 'Id' || a.localName === 'ID' || a.localName === 'id') && a.namespaceURI === '')?.value ?? null;
}

/**
 * The ds:Signature (text) over `target`, which must carry an Id. With
 * `enveloped`, the signature is meant to be placed inside `target` (the
 * enveloped-signature transform is listed; the digest is computed before
 * placement, which is what that transform reproduces).
 */
export async function buildSignature(target: XmlElement, anySigner: Signer, profile: SignatureProfile, enveloped: boolean): Promise<string> {
  // One key, certificate and algorithm for the whole signature, even if the key is swapped meanwhile.
  const signer = snapshotOf(anySigner);
  const id = idOf(target);
  if (!id) throw new Error(`<${target.qName}> has no Id attribute to reference`);
  const transforms = profileTransforms(profile, enveloped);
  const digest = referenceDigest(target, transforms, null, signer.digestAlgorithm.uri);
  const signedInfo =
    `<ds:SignedInfo xmlns:ds="${DSIG_NS}">` +
    `<ds:CanonicalizationMethod Algorithm="${EXC_C14N}"></ds:CanonicalizationMethod>` +
    `<ds:SignatureMethod Algorithm="${signer.signatureAlgorithm.uri}"></ds:SignatureMethod>` +
    `<ds:Reference URI="#${escapeAttr(id)}"><ds:Transforms>` +
    transforms.map((t) => `<ds:Transform Algorithm="${t.algorithm}"></ds:Transform>`).join('') +
    `</ds:Transforms><ds:DigestMethod Algorithm="${signer.digestAlgorithm.uri}"></ds:DigestMethod>` +
    `<ds:DigestValue>${digest.toString('base64')}</ds:DigestValue></ds:Reference></ds:SignedInfo>`;
  // The template is already canonical except for what exc-c14n decides; run it to be exact.
  const canonical = excC14n(parseXml(signedInfo).root);
  const value = await signer.sign(Buffer.from(canonical, 'utf8'));
  return (
    `<ds:Signature xmlns:ds="${DSIG_NS}">` +
    canonical.replace(` xmlns:ds="${DSIG_NS}"`, '') +
    `<ds:SignatureValue>${value.toString('base64')}</ds:SignatureValue>` +
    `<ds:KeyInfo><ds:X509Data><ds:X509Certificate>${signer.certificate.der.toString('base64')}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>` +
    `</ds:Signature>`
  );
}

const SMEV_SIGNATURE_CONTAINERS = new Set(['CallerInformationSystemSignature', 'SMEVSignature']);

export interface SignDocumentOptions {
  signer: Signer;
  profile: SignatureProfile;
  /** Id of the element to sign; default: the one SenderProvidedRequestData / SenderProvidedResponseData, else the root if it has an Id. */
  targetId?: string;
}

/**
 * Signs an XML document (text): when an empty SMEV signature container
 * (CallerInformationSystemSignature) follows the target among its siblings,
 * the signature goes there; otherwise it is enveloped as the target's last child.
 */
export async function signDocument(xml: string, options: SignDocumentOptions): Promise<string> {
  // Parse offsets refer to the line-end normalized text without a BOM: edit that text.
  const text = xml.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  const doc = parseXml(text);
  const target = findTarget(doc, options.targetId);
  const container = signatureContainerAfter(target);
  const signature = await buildSignature(target, options.signer, options.profile, container === null);
  return insertInto(text, container ?? target, signature);
}

function findTarget(doc: XmlDocument, targetId: string | undefined): XmlElement {
  if (targetId !== undefined) {
    const found = doc.elementsById(targetId);
    if (found.length !== 1) throw new Error(`Id "${targetId}" occurs ${found.length} times; need exactly one`);
    return found[0]!;
  }
  const candidates: XmlElement[] = [];
  const stack: XmlElement[] = [doc.root];
  while (stack.length > 0) {
    const el = stack.pop()!;
    if ((el.localName === 'SenderProvidedRequestData' || el.localName === 'SenderProvidedResponseData') && idOf(el)) candidates.push(el);
    for (const child of el.children) if (child.type === 'element') stack.push(child);
  }
  if (candidates.length === 1) return candidates[0]!;
  if (candidates.length === 0 && idOf(doc.root)) return doc.root;
  throw new Error(candidates.length > 1 ? 'several elements could be signed; choose one with --id' : 'nothing to sign: no SenderProvidedRequestData/ResponseData with an Id; choose an element with --id');
}

/** An empty SMEV signature container among the target's following siblings (AttachmentContentList may come between). */
function signatureContainerAfter(target: XmlElement): XmlElement | null {
  const siblings = target.parent?.children.filter((n): n is XmlElement => n.type === 'element') ?? [];
  const container = siblings.slice(siblings.indexOf(target) + 1).find((e) => SMEV_SIGNATURE_CONTAINERS.has(e.localName));
  return container && !container.children.some((c) => c.type === 'element') ? container : null;
}

function insertInto(text: string, container: XmlElement, content: string): string {
  if (text.startsWith('/>', container.end - 2)) {
    return `${text.slice(0, container.end - 2)}>${content}</${container.qName}>${text.slice(container.end)}`;
  }
  const endTag = text.lastIndexOf('</', container.end - 1);
  return text.slice(0, endTag) + content + text.slice(endTag);
}

function escapeAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}
