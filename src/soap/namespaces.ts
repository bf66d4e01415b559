/** SOAP 1.1 and the SMEV 3 message-exchange namespaces, by version. */
export { SOAP11_NS } from '../signature/smev-profile.js';

export type SmevVersion = '1.1' | '1.2' | '1.3';
export const SMEV_VERSIONS: readonly SmevVersion[] = ['1.1', '1.2', '1.3'];

const BASE = 'urn://x-artefacts-smev-gov-ru/services/message-exchange';

export const ns = {
  service: (v: SmevVersion) => `${BASE}/${v}`,
  types: (v: SmevVersion) => `${BASE}/types/${v}`,
  basic: (v: SmevVersion) => `${BASE}/types/basic/${v}`,
  faults: (v: SmevVersion) => `${BASE}/types/faults/${v}`,
};

export function isSmevVersion(v: string): v is SmevVersion {
  return (SMEV_VERSIONS as readonly string[]).includes(v);
}

/** Text escaping for element content and attribute values we write. */
export function xmlText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function xmlAttr(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');
}
