import { describe, expect, it } from 'vitest';
import { PatternError, translatePattern } from '../../src/catalogue/xsd/regex.js';

const m = (p: string, s: string): boolean => translatePattern(p).test(s);

describe('XSD regex → JS RegExp', () => {
  it('is anchored, uses the u flag, and groups alternatives as a whole', () => {
    const re = translatePattern('a|bc');
    expect(re.flags).toBe('u');
    expect(m('a|bc', 'a')).toBe(true);
    expect(m('a|bc', 'bc')).toBe(true);
    expect(m('a|bc', 'abc')).toBe(false);
    expect(m('\\d{13}', '1027700132195')).toBe(true);
    expect(m('\\d{13}', '10277001321950')).toBe(false);
    expect(m('\\d{13}', 'x1027700132195')).toBe(false);
  });

  it('matches СНИЛС', () => {
    const p = '\\d{3}-\\d{3}-\\d{3} \\d{2}';
    expect(m(p, '112-233-445 95')).toBe(true);
    expect(m(p, '11223344595')).toBe(false);
    expect(m(p, '112-233-445 95\n')).toBe(false);
  });

  it('translates multi-character escapes with XSD meanings', () => {
    expect(m('\\d', '٣')).toBe(true); // XSD \d is \p{Nd}, not just ASCII
    expect(m('\\D', 'a')).toBe(true);
    expect(m('\\s', '\u00a0')).toBe(false); // XSD \s is only space, tab, CR, LF
    expect(m('\\s+', ' \t\r\n')).toBe(true);
    expect(m('\\S', '\u00a0')).toBe(true);
    expect(m('[\\S]', ' ')).toBe(false);
    expect(m('\\w', 'ж')).toBe(true);
    expect(m('\\w', '_')).toBe(false); // _ is punctuation (Pc)
    expect(m('\\w', '+')).toBe(true); // + is a symbol (Sm)
    expect(m('\\W', '-')).toBe(true);
    expect(m('[\\w\\-]+', 'а-б')).toBe(true);
    expect(m('\\p{Lu}\\P{Lu}', 'Жж')).toBe(true);
    expect(m('.', '\n')).toBe(false);
    expect(m('.', '😀')).toBe(true);
  });

  it('treats ^ and $ as ordinary characters, and escapes JS-special characters', () => {
    expect(m('^a$', '^a$')).toBe(true);
    expect(m('^a$', 'a')).toBe(false);
    expect(m('a/b', 'a/b')).toBe(true);
    expect(m('[^а-я]', 'z')).toBe(true);
    expect(m('[a^]', '^')).toBe(true);
    expect(m('\\.\\-\\^\\[\\]\\{\\}\\(\\)\\|\\?\\*\\+\\\\', '.-^[]{}()|?*+\\')).toBe(true);
  });

  it('supports classes with ranges, negation and dashes at the edges', () => {
    expect(m('[А-ЯЁ][а-яё]+', 'Ёлкин')).toBe(true);
    expect(m('[-a]', '-')).toBe(true);
    expect(m('[a-]', '-')).toBe(true);
    expect(m('[^\\d]', '5')).toBe(false);
    expect(m('(ab)?c{2,3}', 'abccc')).toBe(true);
    expect(m('(ab)?c{2,}', 'cccccc')).toBe(true);
  });

  it('refuses unsupported or invalid syntax', () => {
    const refused: [string, RegExp][] = [
      ['\\i\\c*', /\\i .*not supported/],
      ['\\C', /\\C .*not supported/],
      ['[a-z-[aeiou]]', /subtraction is not supported/],
      ['\\p{IsCyrillic}', /block escape .*not supported/],
      ['\\p{Foo}', /unknown Unicode category/],
      ['a*?', /quantifier cannot follow/],
      ['(?:a)', /quantifier without anything/],
      ['a{3,2}', /max < min/],
      ['\\$', /invalid escape/],
      ['[a-c-e]', /unescaped '-'/],
      ['(a', /missing '\)'/],
      ['a)', /unbalanced/],
      ['[]', /empty character class/],
      ['[z-a]', /out of order/],
      ['a{', /quantifier/],
    ];
    for (const [p, msg] of refused) {
      expect(() => translatePattern(p), p).toThrow(PatternError);
      expect(() => translatePattern(p), p).toThrow(msg);
    }
  });
});
