// Validates a parsed element tree against a compiled schema. The walk uses an explicit stack,
// so a hostile document's depth can never reach the JavaScript call stack, and it stops after
// MAX_ERRORS errors. Each element is visited once and each child list matched once: linear time.
// Paths are computed only when an error is reported.

import type { ContentError } from '../types.js';
import type { XmlElement } from '../../xml/types.js';
import type { SchemaModel } from './compile.js';
import { matchContent, type ContentIssue } from './content.js';
import { ErrorCollector } from './errors.js';
import type { ComplexType, TypeDef } from './model.js';
import { checkSimple, simpleKey, type SimpleType } from './simple-types.js';

function isXmlWhitespace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return false;
  }
  return true;
}

/** Path from the validation root, e.g. /Application/Structures/Structure[2]/Area (index only among same-named siblings). */
function pathOf(el: XmlElement, root: XmlElement): string {
  const steps: string[] = [];
  for (let cur: XmlElement = el; ; ) {
    const parent = cur.parent;
    if (cur === root || parent === null) {
      steps.push(cur.localName);
      break;
    }
    let total = 0;
    let index = 0;
    for (const c of parent.children) {
      if (c.type !== 'element' || c.localName !== cur.localName || c.namespaceURI !== cur.namespaceURI) continue;
      total++;
      if (c === cur) index = total;
    }
    steps.push(total > 1 ? `${cur.localName}[${index}]` : cur.localName);
    cur = parent;
  }
  return '/' + steps.reverse().join('/');
}

class Validator {
  readonly out = new ErrorCollector();

  constructor(
    private readonly model: SchemaModel,
    private readonly root: XmlElement,
  ) {}

  private path(el: XmlElement): string {
    return pathOf(el, this.root);
  }

  run(): ContentError[] {
    const root = this.root;
    const decl = root.namespaceURI === this.model.targetNamespace ? this.model.roots.get(root.localName) : undefined;
    if (decl === undefined) {
      const nsNote =
        root.namespaceURI === this.model.targetNamespace ? '' : ` in namespace ${root.namespaceURI || '(none)'}`;
      this.out.add(
        this.path(root),
        `unexpected element ${root.localName}`,
        `Root element ${root.localName}${nsNote} is not declared by this schema (expected ${[...this.model.roots.keys()].join(' or ')} in namespace ${this.model.targetNamespace}).`,
      );
      return this.out.errors;
    }
    const stack: { el: XmlElement; type: TypeDef }[] = [{ el: root, type: decl.type }];
    while (stack.length > 0 && !this.out.full) {
      const { el, type } = stack.pop() as { el: XmlElement; type: TypeDef };
      if (type.kind === 'simple') {
        this.attributes(el, null);
        this.simpleValue(el, type.type);
        continue;
      }
      this.attributes(el, type);
      const content = type.content;
      if (content.kind === 'simple') {
        this.simpleValue(el, content.type);
        continue;
      }
      const kids: XmlElement[] = [];
      let text = false;
      for (const c of el.children) {
        if (c.type === 'element') kids.push(c);
        else if (c.type === 'text' && !text && !isXmlWhitespace(c.value)) text = true;
      }
      if (text) {
        this.out.add(this.path(el), 'text not allowed', `Element ${el.localName} has element-only content; text is not allowed in it.`);
      }
      if (content.kind === 'empty') {
        const k = kids[0];
        if (k !== undefined) {
          this.out.add(this.path(k), `unexpected element ${k.localName}`, `Element ${el.localName} must be empty; child element ${k.localName} is not allowed.`);
        }
        continue;
      }
      const tns = this.model.targetNamespace;
      const names = kids.map((k) => (k.namespaceURI === tns ? k.localName : null));
      const { decls, issue } = matchContent(content.particle, names);
      if (issue !== null) this.contentIssue(el, kids, issue);
      // Reverse push: children are then checked in document order, so errors come out in order.
      // After a content-model error, children the model knows by name are still checked (their
      // type is unambiguous), so one misplaced element doesn't hide the rest of the problems.
      for (let i = kids.length - 1; i >= 0; i--) {
        const n = names[i];
        const d = decls[i] ?? (issue !== null && n !== null && n !== undefined ? content.decls.get(n) : undefined);
        if (d !== undefined) stack.push({ el: kids[i] as XmlElement, type: d.type });
      }
    }
    return this.out.errors;
  }

  private contentIssue(el: XmlElement, kids: XmlElement[], issue: ContentIssue): void {
    if (issue.kind === 'missing') {
      const found = kids[issue.found];
      this.out.add(
        this.path(el),
        `required element ${issue.expected.join('|')}`,
        `Element ${el.localName} is missing required child element ${issue.expected.join(' or ')}` +
          (found !== undefined ? ` (found ${found.localName} in its place).` : '.'),
      );
      return;
    }
    const k = kids[issue.index] as XmlElement;
    if (issue.kind === 'maxOccurs') {
      this.out.add(
        this.path(k),
        `maxOccurs ${issue.max}`,
        `Element ${k.localName} may occur at most ${issue.max} time${issue.max === 1 ? '' : 's'} here in ${el.localName}.`,
      );
      return;
    }
    const tns = this.model.targetNamespace;
    const why =
      k.namespaceURI !== tns
        ? ` (it is in namespace ${k.namespaceURI || '(none)'}; elements must be in ${tns})`
        : '';
    this.out.add(this.path(k), `unexpected element ${k.localName}`, `Element ${k.localName} is not allowed here in ${el.localName}${why}.`);
  }

  private attributes(el: XmlElement, type: ComplexType | null): void {
    const decls = type?.attributes;
    for (const a of el.attributes) {
      const d = a.namespaceURI === '' ? decls?.get(a.localName) : undefined;
      if (d === undefined) {
        // xsi:type, xsi:nil and xsi:schemaLocation included: we never let a document pick its own type.
        this.out.add(`${this.path(el)}/@${a.qName}`, `unexpected attribute ${a.qName}`, `Element ${el.localName} does not allow attribute ${a.qName}.`);
        continue;
      }
      const issue = checkSimple(d.type, a.value);
      if (issue !== null) {
        this.out.add(`${this.path(el)}/@${a.qName}`, issue.rule, `Value of attribute ${a.qName} of element ${el.localName} ${issue.detail}.`);
      } else if (d.fixed !== null) {
        const k = checkFixed(d.type, a.value);
        if (k !== d.fixed.key) {
          this.out.add(`${this.path(el)}/@${a.qName}`, `fixed ${d.fixed.lexical}`, `Attribute ${a.qName} of element ${el.localName} must have the fixed value ${d.fixed.lexical}.`);
        }
      }
    }
    if (decls === undefined) return;
    for (const d of decls.values()) {
      if (!d.required) continue;
      if (!el.attributes.some((a) => a.namespaceURI === '' && a.localName === d.name)) {
        this.out.add(this.path(el), `required attribute ${d.name}`, `Element ${el.localName} is missing required attribute ${d.name}.`);
      }
    }
  }

  private simpleValue(el: XmlElement, st: SimpleType): void {
    let text = '';
    for (const c of el.children) {
      if (c.type === 'element') {
        this.out.add(this.path(c), `unexpected element ${c.localName}`, `Element ${el.localName} has a simple value; child element ${c.localName} is not allowed.`);
        return;
      }
      if (c.type === 'text') text += c.value;
    }
    const issue = checkSimple(st, text);
    if (issue !== null) this.out.add(this.path(el), issue.rule, `Value of element ${el.localName} ${issue.detail}.`);
  }
}

/** Value-space key of an attribute value: fixed="1.0" accepts "1.00" for a decimal. */
function checkFixed(st: SimpleType, raw: string): string | null {
  const r = simpleKey(st, raw);
  return 'key' in r ? r.key : null;
}

export function validateTree(model: SchemaModel, root: XmlElement): ContentError[] {
  return new Validator(model, root).run();
}
