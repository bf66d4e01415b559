// Placeholder until the identity-constraint module lands (branch xsd-identity): the interface only.
import type { XmlAttribute, XmlElement } from '../../xml/types.js';
import type { SimpleType } from './simple-types.js';

export interface IdentityConstraint {
  readonly kind: 'key' | 'keyref' | 'unique';
  readonly name: string;
  readonly refer: string | null;
}

export function compileIdentityConstraint(_xs: XmlElement, _tns: string, _source: string, _line: number): IdentityConstraint {
  return { kind: 'unique', name: '', refer: null };
}

export function linkIdentityConstraints(_all: ReadonlyMap<string, IdentityConstraint>, _source: string): void {}

export interface IdentityContext {
  constraintsOf(el: XmlElement): readonly IdentityConstraint[];
  typeOfElement(el: XmlElement): SimpleType | null;
  typeOfAttribute(el: XmlElement, attr: XmlAttribute): SimpleType | null;
  add(path: string, rule: string, message: string): void;
  pathOf(el: XmlElement): string;
}

export function checkIdentityConstraints(_scope: XmlElement, _ctx: IdentityContext): void {}
