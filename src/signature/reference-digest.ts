/**
 * The octets a Reference's transform chain produces from its element, and
 * their digest. Works on the parsed tree: no re-serialization and re-parsing
 * between transforms, so the cost is linear in the element's size.
 */
import { c14nOptionsFor, canonicalizeTo, C14N_10, isC14nAlgorithm } from '../xml/c14n.js';
import { ChunkedSink, type TextSink } from '../xml/sink.js';
import { smevTransformTo, SMEV_TRANSFORM } from '../xml/smev-transform.js';
import type { XmlElement } from '../xml/types.js';
import { getDigestAlgorithm } from '../crypto/index.js';
import { ENVELOPED_SIGNATURE } from './dsig.js';
import type { Transform } from './structure.js';

/**
 * Applies a checked transform chain (see structure.ts) to `target`.
 * `signature` is the ds:Signature element, left out by enveloped-signature.
 */
export function transformedOctets(target: XmlElement, transforms: readonly Transform[], signature: XmlElement | null): string {
  const out: string[] = [];
  writeTransformed(target, transforms, signature, out);
  return out.join('');
}

/** The same octets (as text) pushed into a sink. */
export function writeTransformed(target: XmlElement, transforms: readonly Transform[], signature: XmlElement | null, sink: TextSink): void {
  const exclude = signature && transforms[0]?.algorithm === ENVELOPED_SIGNATURE && isInside(signature, target) ? signature : null;
  if (transforms.some((t) => t.algorithm === SMEV_TRANSFORM)) {
    // exc-c14n (or c14n) followed by the SMEV transform equals the SMEV
    // transform of the tree: canonicalization keeps every name, attribute and
    // character the SMEV transform reads (see src/xml/smev-transform.ts).
    smevTransformTo(target, { exclude }, sink);
    return;
  }
  const c14n = transforms.find((t) => isC14nAlgorithm(t.algorithm));
  // XMLDSig: a node-set that reaches the end of the chain is turned into octets by inclusive c14n 1.0.
  const algorithm = c14n && isC14nAlgorithm(c14n.algorithm) ? c14n.algorithm : C14N_10;
  canonicalizeTo(target, c14nOptionsFor(algorithm, { inclusivePrefixes: c14n?.inclusivePrefixes ?? [], exclude }), sink);
}

/** The digest of the transformed element, hashed in chunks as it is produced. */
export function referenceDigest(target: XmlElement, transforms: readonly Transform[], signature: XmlElement | null, digestUri: string): Buffer {
  const hasher = getDigestAlgorithm(digestUri).create();
  const sink = new ChunkedSink(hasher);
  writeTransformed(target, transforms, signature, sink);
  sink.flush();
  return hasher.digest();
}

export function isInside(node: XmlElement, ancestor: XmlElement): boolean {
  for (let p: XmlElement | null = node.parent; p; p = p.parent) if (p === ancestor) return true;
  return false;
}
