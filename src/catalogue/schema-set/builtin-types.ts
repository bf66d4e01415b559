// The XSD 1.0 built-in simple types by local name, each with the primitive it derives from
// (what decides its JSON form) and, for the integer types, their value range.

export type Primitive =
  | 'string' | 'boolean' | 'decimal' | 'float' | 'double' | 'duration' | 'dateTime' | 'time' | 'date'
  | 'gYearMonth' | 'gYear' | 'gMonthDay' | 'gDay' | 'gMonth' | 'hexBinary' | 'base64Binary' | 'anyURI'
  | 'QName' | 'NOTATION' | 'anySimpleType';

export interface BuiltinInfo {
  readonly primitive: Primitive;
  /** Integer types: inclusive bounds as decimal strings (null: unbounded on that side). */
  readonly integer?: { readonly min: string | null; readonly max: string | null };
  /** List built-ins (NMTOKENS, IDREFS, ENTITIES): the item type. */
  readonly listOf?: string;
}

const S = (p: Primitive): BuiltinInfo => ({ primitive: p });
const I = (min: string | null, max: string | null): BuiltinInfo => ({ primitive: 'decimal', integer: { min, max } });

export const BUILTIN_TYPES: ReadonlyMap<string, BuiltinInfo> = new Map<string, BuiltinInfo>([
  ['anySimpleType', S('anySimpleType')],
  ['string', S('string')], ['normalizedString', S('string')], ['token', S('string')], ['language', S('string')],
  ['Name', S('string')], ['NCName', S('string')], ['ID', S('string')], ['IDREF', S('string')], ['ENTITY', S('string')],
  ['NMTOKEN', S('string')],
  ['NMTOKENS', { primitive: 'string', listOf: 'NMTOKEN' }], ['IDREFS', { primitive: 'string', listOf: 'IDREF' }],
  ['ENTITIES', { primitive: 'string', listOf: 'ENTITY' }],
  ['boolean', S('boolean')], ['decimal', S('decimal')], ['float', S('float')], ['double', S('double')],
  ['integer', I(null, null)], ['nonPositiveInteger', I(null, '0')], ['negativeInteger', I(null, '-1')],
  ['long', I('-9223372036854775808', '9223372036854775807')], ['int', I('-2147483648', '2147483647')],
  ['short', I('-32768', '32767')], ['byte', I('-128', '127')],
  ['nonNegativeInteger', I('0', null)], ['positiveInteger', I('1', null)],
  ['unsignedLong', I('0', '18446744073709551615')], ['unsignedInt', I('0', '4294967295')],
  ['unsignedShort', I('0', '65535')], ['unsignedByte', I('0', '255')],
  ['duration', S('duration')], ['dateTime', S('dateTime')], ['time', S('time')], ['date', S('date')],
  ['gYearMonth', S('gYearMonth')], ['gYear', S('gYear')], ['gMonthDay', S('gMonthDay')], ['gDay', S('gDay')],
  ['gMonth', S('gMonth')], ['hexBinary', S('hexBinary')], ['base64Binary', S('base64Binary')],
  ['anyURI', S('anyURI')], ['QName', S('QName')], ['NOTATION', S('NOTATION')],
]);
