/**
 * File names as the exchange's file store accepts them: Cyrillic transliterated (ICAO Doc 9303,
 * the Russian passport table), [A-Za-z0-9._-] only, extension kept, at most 108 characters.
 * Real names of documents municipal applications carry.
 */
import { describe, expect, it } from 'vitest';
import { FILE_STORE_NAME_MAX, fileStoreName, transliterate } from '../../src/attachments/file-store-name.js';

describe('fileStoreName', () => {
  it.each([
    ['Проект перепланировки квартиры №5.pdf', 'Proekt_pereplanirovki_kvartiry_No5.pdf'],
    ['Скан паспорта (стр. 2-3).JPG', 'Skan_pasporta_str._2-3.JPG'],
    ['Свидетельство о рождении ребёнка.pdf', 'Svidetelstvo_o_rozhdenii_rebenka.pdf'],
    ['Выписка из ЕГРН на объект недвижимости.PDF', 'Vypiska_iz_EGRN_na_obieekt_nedvizhimosti.PDF'],
    ['Разрешение на установку рекламной конструкции ул. Щорса, д. 15.docx', 'Razreshenie_na_ustanovku_reklamnoi_konstruktsii_ul._Shchorsa_d._15.docx'],
    ['Юлия Щукина — заявление.pdf', 'Iuliia_Shchukina_zaiavlenie.pdf'],
    ['Объяснительная записка «Об изменении»—итог.odt', 'Obieiasnitelnaia_zapiska_Ob_izmenenii_itog.odt'],
    ['Подъезд №2, этаж 5.jpeg', 'Podieezd_No2_etazh_5.jpeg'],
    ['ЖКХ_справка.pdf', 'ZHKKH_spravka.pdf'],
    ['Жилищный кодекс.rtf', 'Zhilishchnyi_kodeks.rtf'],
    ['архив.tar.gz', 'arkhiv.tar.gz'],
    ['Café résumé.txt', 'Cafe_resume.txt'],
    ['C:\\Users\\Иван\\Документы\\акт.pdf', 'akt.pdf'],
    ['???.pdf', 'file.pdf'],
    ['.bashrc', 'bashrc'],
    ['plain-name_1.2.xml', 'plain-name_1.2.xml'],
  ])('%s → %s', (name, expected) => {
    expect(fileStoreName(name)).toBe(expected);
  });

  it('a long name is cut to 108 characters, the extension kept whole, no dangling separator', () => {
    const name = 'Техническое заключение о состоянии несущих и ограждающих конструкций многоквартирного жилого дома по адресу г. Москва ул. Большая Якиманка д. 22 корп. 3.pdf';
    const out = fileStoreName(name);
    expect(out).toBe('Tekhnicheskoe_zakliuchenie_o_sostoianii_nesushchikh_i_ograzhdaiushchikh_konstruktsii_mnogokvartirnogo_zh.pdf');
    expect(out.length).toBe(FILE_STORE_NAME_MAX);
    const dangling = fileStoreName(`${'а'.repeat(103)} б.pdf`);
    expect(dangling).toBe(`${'a'.repeat(103)}.pdf`);
  });

  it('every output is in the character set, at most 108 long, and stable (a store name maps to itself)', () => {
    const names = ['Заявление', 'Ё-моё!.txt', '№ 1/2 «кавычки».pdf', 'ǅemal Ŋ.png', '日本語.pdf', 'x'.repeat(500) + '.verylongextension123', '', '....'];
    for (const n of names) {
      const out = fileStoreName(n);
      expect(out, n).toMatch(/^[A-Za-z0-9._-]{1,108}$/);
      expect(fileStoreName(out), n).toBe(out);
    }
  });

  it('transliterates the whole Russian alphabet by the ICAO table', () => {
    expect(transliterate('абвгдеёжзийклмнопрстуфхцчшщъыьэюя')).toBe('abvgdeezhziiklmnoprstufkhtschshshchieyeiuia');
    expect(transliterate('Щука ЩУКА Щ')).toBe('Shchuka SHCHUKA Shch');
  });
});
