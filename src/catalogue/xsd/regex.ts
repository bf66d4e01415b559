// Translates an XSD 1.0 regular expression (Part 2, Appendix F) into an anchored JavaScript
// RegExp with the `u` flag. XSD regexes are implicitly anchored, have no anchors of their own
// (^ and $ are ordinary characters), no backreferences, no lazy quantifiers and no lookaround,
// so the translation is a careful re-spelling, character by character:
//   .   → [^\n\r]                    \d → \p{Nd}      \D → \P{Nd}
//   \s  → [ \t\n\r]                  \S → its complement as explicit ranges
//   \w  → [\p{L}\p{M}\p{N}\p{S}]     \W → [\p{P}\p{Z}\p{C}]   (XSD: all but P, Z, C)
//   (…) → (?:…)                       \p{Lu} etc. pass through (same category names)
// Refused with a clear message: \i \I \c \C (XML name classes, no JS equivalent), \p{IsBlock}
// (JS has no Unicode block escapes) and character class subtraction [a-z-[aeiou]].
// Patterns come from our own schemas, so avoiding catastrophic backtracking (e.g. (a+)+) is the
// schema author's job; values only ever meet these compiled, anchored expressions.

export class PatternError extends Error {}

const CATEGORIES = new Set([
  'L', 'Lu', 'Ll', 'Lt', 'Lm', 'Lo',
  'M', 'Mn', 'Mc', 'Me',
  'N', 'Nd', 'Nl', 'No',
  'P', 'Pc', 'Pd', 'Ps', 'Pe', 'Pi', 'Pf', 'Po',
  'Z', 'Zs', 'Zl', 'Zp',
  'S', 'Sm', 'Sc', 'Sk', 'So',
  'C', 'Cc', 'Cf', 'Co', 'Cn',
]);

// SingleCharEsc of XSD 1.0 Second Edition: \n \r \t \\ \| \. \? \* \+ \( \) \{ \} \- \[ \] \^
const SINGLE_ESC = new Map<string, number>([
  ['n', 0x0a], ['r', 0x0d], ['t', 0x09],
  ['\\', 0x5c], ['|', 0x7c], ['.', 0x2e], ['?', 0x3f], ['*', 0x2a], ['+', 0x2b],
  ['(', 0x28], [')', 0x29], ['{', 0x7b], ['}', 0x7d], ['-', 0x2d], ['[', 0x5b], [']', 0x5d], ['^', 0x5e],
]);

/** Class members (usable inside [...] in JS `u` mode) for the multi-character escapes. */
const MULTI_MEMBERS: Readonly<Record<string, string>> = {
  s: ' \\t\\n\\r',
  S: '\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F\\x21-\\u{10FFFF}',
  d: '\\p{Nd}',
  D: '\\P{Nd}',
  w: '\\p{L}\\p{M}\\p{N}\\p{S}',
  W: '\\p{P}\\p{Z}\\p{C}',
};

/** Emits one code point as a JS regex literal that is safe both inside and outside a class. */
function lit(cp: number): string {
  if (cp === 0x0a) return '\\n';
  if (cp === 0x0d) return '\\r';
  if (cp === 0x09) return '\\t';
  if (cp < 0x20 || cp === 0x7f) return `\\x${cp.toString(16).padStart(2, '0')}`;
  const ch = String.fromCodePoint(cp);
  // SyntaxCharacters and '/' may be identity-escaped in `u` mode; '-' only inside a class,
  // so it is emitted as \x2d to be valid in both positions.
  if (cp === 0x2d) return '\\x2d';
  return '^$\\.*+?()[]{}|/'.includes(ch) ? '\\' + ch : ch;
}

class Translator {
  private i = 0;
  private readonly cps: number[];

  constructor(private readonly src: string) {
    this.cps = Array.from(src, (c) => c.codePointAt(0) ?? 0);
  }

  private fail(msg: string): never {
    throw new PatternError(`${msg} at position ${this.i} of pattern ${JSON.stringify(this.src)}`);
  }

  private peek(): number | undefined {
    return this.cps[this.i];
  }

  translate(): string {
    const out = this.regExp(0);
    if (this.i < this.cps.length) this.fail(`unbalanced ')'`);
    return out;
  }

  private regExp(depth: number): string {
    if (depth > 32) this.fail('groups nested too deeply');
    const branches = [this.branch(depth)];
    while (this.peek() === 0x7c) {
      this.i++;
      branches.push(this.branch(depth));
    }
    return branches.join('|');
  }

  private branch(depth: number): string {
    let out = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined || c === 0x7c || c === 0x29) return out;
      out += this.atom(depth);
      out += this.quantifier();
    }
  }

  private quantifier(): string {
    const c = this.peek();
    if (c === 0x3f || c === 0x2a || c === 0x2b) {
      this.i++;
      const n = this.peek();
      if (n === 0x3f || n === 0x2a || n === 0x2b || n === 0x7b) this.fail('a quantifier cannot follow a quantifier');
      return String.fromCodePoint(c);
    }
    if (c !== 0x7b) return '';
    this.i++;
    const min = this.digits();
    if (min === '') this.fail('quantifier {…} needs a minimum');
    let out = '{' + min;
    if (this.peek() === 0x2c) {
      this.i++;
      const max = this.digits();
      if (max !== '' && Number(max) < Number(min)) this.fail(`quantifier {${min},${max}} has max < min`);
      out += ',' + max;
    }
    if (this.peek() !== 0x7d) this.fail("expected '}'");
    this.i++;
    const n = this.peek();
    if (n === 0x3f || n === 0x2a || n === 0x2b || n === 0x7b) this.fail('a quantifier cannot follow a quantifier');
    return out + '}';
  }

  private digits(): string {
    let s = '';
    for (let c = this.peek(); c !== undefined && c >= 0x30 && c <= 0x39; c = this.peek()) {
      s += String.fromCodePoint(c);
      this.i++;
    }
    return s;
  }

  private atom(depth: number): string {
    const c = this.peek() as number;
    switch (c) {
      case 0x28: {
        this.i++;
        const inner = this.regExp(depth + 1);
        if (this.peek() !== 0x29) this.fail("missing ')'");
        this.i++;
        return `(?:${inner})`;
      }
      case 0x5b:
        return this.charClassExpr();
      case 0x2e:
        this.i++;
        return '[^\\n\\r]';
      case 0x5c: {
        const esc = this.escape();
        return esc.kind === 'char' ? lit(esc.cp) : `[${esc.members}]`;
      }
      case 0x3f:
      case 0x2a:
      case 0x2b:
      case 0x7b:
        this.fail('quantifier without anything to repeat');
      // eslint-disable-next-line no-fallthrough
      case 0x5d:
      case 0x7d:
        this.fail(`unescaped '${String.fromCodePoint(c)}'`);
      // eslint-disable-next-line no-fallthrough
      default:
        this.i++;
        return lit(c);
    }
  }

  /** Parses a backslash escape: a single character, or class members for a multi-char/category escape. */
  private escape(): { kind: 'char'; cp: number } | { kind: 'class'; members: string } {
    this.i++; // '\'
    const c = this.peek();
    if (c === undefined) this.fail('pattern ends with a backslash');
    this.i++;
    const ch = String.fromCodePoint(c);
    const single = SINGLE_ESC.get(ch);
    if (single !== undefined) return { kind: 'char', cp: single };
    const multi = MULTI_MEMBERS[ch];
    if (multi !== undefined) return { kind: 'class', members: multi };
    if (ch === 'i' || ch === 'I' || ch === 'c' || ch === 'C') {
      this.fail(`\\${ch} (XML name character class) is not supported`);
    }
    if (ch === 'p' || ch === 'P') {
      if (this.peek() !== 0x7b) this.fail(`\\${ch} must be followed by {…}`);
      const close = this.cps.indexOf(0x7d, this.i);
      if (close === -1) this.fail(`unterminated \\${ch}{`);
      const name = String.fromCodePoint(...this.cps.slice(this.i + 1, close));
      if (name.startsWith('Is')) this.fail(`Unicode block escape \\${ch}{${name}} is not supported`);
      if (!CATEGORIES.has(name)) this.fail(`unknown Unicode category \\${ch}{${name}}`);
      this.i = close + 1;
      return { kind: 'class', members: `\\${ch}{${name}}` };
    }
    this.fail(`invalid escape \\${ch}`);
  }

  private charClassExpr(): string {
    this.i++; // '['
    let negated = false;
    if (this.peek() === 0x5e) {
      negated = true;
      this.i++;
    }
    let members = '';
    let first = true;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail("missing ']'");
      if (c === 0x5d) {
        if (first) this.fail('empty character class');
        this.i++;
        break;
      }
      if (c === 0x5b) this.fail("unescaped '[' in a character class");
      if (c === 0x2d) {
        const next = this.cps[this.i + 1];
        if (next === 0x5b) this.fail('character class subtraction is not supported');
        // A literal '-' only at the start or the end of the group (XSD 1.0 Second Edition).
        if (!first && next !== 0x5d) this.fail("unescaped '-' in a character class");
        this.i++;
        members += lit(0x2d);
        first = false;
        continue;
      }
      first = false;
      let lo: number;
      if (c === 0x5c) {
        const esc = this.escape();
        if (esc.kind === 'class') {
          members += esc.members;
          continue;
        }
        lo = esc.cp;
      } else {
        this.i++;
        lo = c;
      }
      // Range?
      if (this.peek() === 0x2d && this.cps[this.i + 1] !== 0x5d) {
        if (this.cps[this.i + 1] === 0x5b) this.fail('character class subtraction is not supported');
        this.i++;
        const h = this.peek();
        if (h === undefined) this.fail("missing ']'");
        let hi: number;
        if (h === 0x5c) {
          const esc = this.escape();
          if (esc.kind === 'class') this.fail('a range cannot end in a multi-character escape');
          hi = esc.cp;
        } else {
          if (h === 0x5b || h === 0x2d) this.fail('invalid range end');
          this.i++;
          hi = h;
        }
        if (hi < lo) this.fail('range out of order');
        members += `${lit(lo)}-${lit(hi)}`;
      } else {
        members += lit(lo);
      }
    }
    return `[${negated ? '^' : ''}${members}]`;
  }
}

/** The JS RegExp for an XSD pattern facet value; throws PatternError for invalid or unsupported syntax. */
export function translatePattern(xsdPattern: string): RegExp {
  const body = new Translator(xsdPattern).translate();
  try {
    return new RegExp(`^(?:${body})$`, 'u');
  } catch (e) {
    throw new PatternError(`pattern ${JSON.stringify(xsdPattern)} does not compile: ${(e as Error).message}`);
  }
}
