/**
 * The name a file gets in the SMEV exchange's file store (`/{uuid}/{name}`, S3 key
 * `{uuid}/{name}`): ASCII only, [A-Za-z0-9._-], at most 108 characters, extension kept.
 *
 * Cyrillic is transliterated by the ICAO Doc 9303 table that Russian passports use (order of
 * the MVD No. 889 of 2014 / 2017): it needs letters only — no apostrophes, backticks or
 * digraph signs as GOST 7.79-2000 system B does (`, ', cz…), which the store's character set
 * would turn into `_` anyway — and a Russian reader recognises it from the passport. Ukrainian
 * and Belarusian letters the table lacks (і ї є ґ ў) get their nearest Russian reading. Latin
 * letters with diacritics lose them (é → e); everything else outside the set becomes `_`
 * (runs of them one `_`). A letter that is a digraph (Ж → Zh) is all capitals inside a word
 * in capitals (ЖКХ → ZHKKH).
 *
 * The extension (the part after the last dot, 1–16 letters or digits) is kept whole; the
 * base is cut so that the name fits in 108 characters.
 */

export const FILE_STORE_NAME_MAX = 108;

const ICAO: Readonly<Record<string, string>> = {
  а: 'a', б: 'b', в: 'v', г: 'g', д: 'd', е: 'e', ё: 'e', ж: 'zh', з: 'z', и: 'i', й: 'i', к: 'k', л: 'l', м: 'm', н: 'n', о: 'o', п: 'p',
  р: 'r', с: 's', т: 't', у: 'u', ф: 'f', х: 'kh', ц: 'ts', ч: 'ch', ш: 'sh', щ: 'shch', ъ: 'ie', ы: 'y', ь: '', э: 'e', ю: 'iu', я: 'ia',
  // Not in the Russian table: the nearest readings.
  і: 'i', ї: 'i', є: 'ie', ґ: 'g', ў: 'u',
};

function isUpper(ch: string | undefined): boolean {
  return ch !== undefined && ch !== ch.toLowerCase() && ch === ch.toUpperCase();
}

/** Cyrillic → Latin (ICAO Doc 9303), case kept; other characters as they are. */
export function transliterate(text: string): string {
  const chars = [...text.normalize('NFC')];
  let out = '';
  chars.forEach((ch, i) => {
    const lower = ch.toLowerCase();
    const latin = ICAO[lower];
    if (latin === undefined) {
      out += ch;
      return;
    }
    if (ch === lower || latin.length === 0) {
      out += latin;
      return;
    }
    // A capital: Zh at the start of a word, ZH inside a word in capitals.
    const wordInCapitals = isUpper(chars[i + 1]) || (isUpper(chars[i - 1]) && !/\p{L}/u.test(chars[i + 1] ?? ''));
    out += wordInCapitals ? latin.toUpperCase() : latin.charAt(0).toUpperCase() + latin.slice(1);
  });
  return out;
}

/** [A-Za-z0-9._-] only: diacritics dropped (after transliteration, so й stays i), the rest `_`, runs of `_` one. */
function safe(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}+/gu, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/_{2,}/g, '_');
}

export function fileStoreName(name: string): string {
  // A path given by mistake: its last part.
  const base = name.split(/[\\/]/).pop() ?? '';
  const latin = safe(transliterate(base));
  const dot = latin.lastIndexOf('.');
  const rawExt = dot > 0 ? latin.slice(dot + 1) : '';
  const ext = /^[A-Za-z0-9]{1,16}$/.test(rawExt) ? rawExt : '';
  let stem = ext ? latin.slice(0, dot) : latin;
  // No leading dots (a hidden file) and no dots, dashes or underscores dangling at either end.
  stem = stem.replace(/^[._-]+/, '').replace(/[._-]+$/, '');
  if (stem.length === 0) stem = 'file';
  const room = FILE_STORE_NAME_MAX - (ext ? ext.length + 1 : 0);
  if (stem.length > room) stem = stem.slice(0, room).replace(/[._-]+$/, '') || 'file';
  return ext ? `${stem}.${ext}` : stem;
}
