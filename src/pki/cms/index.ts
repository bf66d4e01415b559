/** Detached CMS (PKCS#7) signatures over files: read, verify, make. */
export { parseCms, cmsBytes, CmsError, type CmsSignedData, type CmsSignerInfo, type SignerIdentifier } from './parse.js';
export { verifyDetachedCms, type CmsVerdict, type CmsSignerVerdict, type CmsVerifyOptions } from './verify.js';
export { cmsContentDigest, signDetachedCms, signDetachedCmsDigest, type CmsSignOptions } from './sign.js';
export type { CmsDigestStream } from './algorithms.js';
export { OID as CMS_OID } from './algorithms.js';
export { checkAttachmentSignature, type AttachmentSignatureCheck, type AttachmentSignaturePolicy, type AttachmentSignatureSummary } from './attachment.js';
