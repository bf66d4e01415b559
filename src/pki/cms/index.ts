/** Detached CMS (PKCS#7) signatures over files: read, verify, make. */
export { parseCms, cmsBytes, CmsError, type CmsSignedData, type CmsSignerInfo, type SignerIdentifier } from './parse.js';
export { verifyDetachedCms, verifyDetachedCmsDigests, cmsDigestOids, readCmsSignature, type CmsVerdict, type CmsSignerVerdict, type CmsVerifyOptions } from './verify.js';
export { cmsContentDigest, signDetachedCms, signDetachedCmsDigest, type CmsSignOptions } from './sign.js';
export { OID as CMS_OID, cmsDigest, type CmsDigest, type CmsDigestStream, type CmsStreamHasher } from './algorithms.js';
export { checkAttachmentSignature, checkAttachmentSignatureDigests, type AttachmentSignatureCheck, type AttachmentSignaturePolicy, type AttachmentSignatureSummary } from './attachment.js';
