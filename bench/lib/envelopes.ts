/**
 * SMEV 3 SendRequest envelopes of a chosen size, laid out like the official
 * sample (SendRequestRequestNoAttach.xml: the same prefixes and namespace
 * declarations, an empty CallerInformationSystemSignature to sign into), with
 * MessagePrimaryContent grown by realistic repeated business records:
 * Cyrillic text, attributes, escaped characters, indentation.
 */

export const SOAP_NS = 'http://schemas.xmlsoap.org/soap/envelope/';
export const TYPES_NS = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/1.1';
export const BASIC_NS = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/basic/1.1';
export const FAULTS_NS = 'urn://x-artefacts-smev-gov-ru/services/message-exchange/types/faults/1.1';
const BREACH_ROOT_NS = 'urn://x-artefacts-gibdd-gov-ru/breach/root/1.0';
const BREACH_COMMONS_NS = 'urn://x-artefacts-gibdd-gov-ru/breach/commons/1.0';
const SUPPLEMENTARY_NS = 'urn://x-artefacts-smev-gov-ru/supplementary/commons/1.0.1';

const FAMILY = ['Загурский', 'Иванова', 'Петров', 'Соколова', 'Кузнецов', 'Смирнова', 'Волков', 'Лебедева'];
const FIRST = ['Андрей', 'Мария', 'Сергей', 'Екатерина', 'Дмитрий', 'Ольга', 'Алексей', 'Наталья'];
const PATRONYMIC = ['Петрович', 'Ивановна', 'Сергеевич', 'Андреевна', 'Николаевич', 'Викторовна', 'Олегович', 'Павловна'];
const STREETS = ['ул. Тверская', 'пр-т Мира', 'Ленинский пр-т', 'ул. Большая Ордынка', 'Садовая-Кудринская ул.', 'ш. Энтузиастов'];
const DISTRICTS = ['Центральный', 'Северо-Восточный', 'Южный', 'Западный', 'Юго-Западный', 'Восточный'];
const ARTICLES: ReadonlyArray<[string, string]> = [
  ['12.9.2', 'Превышение установленной скорости движения транспортного средства на величину более 20, но не более 40 км/ч'],
  ['12.12.1', 'Проезд на запрещающий сигнал светофора или на запрещающий жест регулировщика'],
  ['12.16.4', 'Нарушение требований, предписанных дорожными знаками, запрещающими остановку или стоянку'],
  ['12.6', 'Управление транспортным средством водителем, не пристегнутым ремнем безопасности'],
];
const PLATE_LETTERS = 'АВЕКМНОРСТУХ';

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function plate(i: number): string {
  const l = (k: number) => PLATE_LETTERS[(i * 7 + k * 5) % PLATE_LETTERS.length];
  return `${l(0)}${pad((i * 37) % 1000, 3)}${l(1)}${l(2)}${pad(10 + (i % 90), 2)}`;
}

/** One business record, about 1.1 KB of UTF-8. */
function offence(i: number): string {
  const [code, text] = ARTICLES[i % ARTICLES.length]!;
  const day = pad(1 + (i % 28), 2);
  const month = pad(1 + (i % 12), 2);
  return (
    `\n   <ns1:Offence num="${i + 1}" date="2024-${month}-${day}T${pad(i % 24, 2)}:${pad((i * 13) % 60, 2)}:00+03:00" status="${i % 3 === 0 ? 'paid' : 'active'}">` +
    `\n    <ns2:RegPointNum>${plate(i)}</ns2:RegPointNum>` +
    `\n    <ns2:Resolution series="18810" number="${pad(177000000 + i * 7919, 9)}" issuer="ЦАФАП ГИБДД ГУ МВД России по г. Москве"/>` +
    `\n    <ns2:Place region="77" district="${DISTRICTS[i % DISTRICTS.length]}">г. Москва, ${STREETS[i % STREETS.length]}, д. ${1 + (i % 140)}, стр. ${1 + (i % 4)}</ns2:Place>` +
    `\n    <ns2:Article code="${code}">${text}</ns2:Article>` +
    `\n    <ns2:Owner kind="${i % 5 === 0 ? 'legal' : 'natural'}">` +
    `\n     <ns3:FamilyName>${FAMILY[i % FAMILY.length]}</ns3:FamilyName>` +
    `\n     <ns3:FirstName>${FIRST[i % FIRST.length]}</ns3:FirstName>` +
    `\n     <ns3:Patronymic>${PATRONYMIC[i % PATRONYMIC.length]}</ns3:Patronymic>` +
    (i % 5 === 0 ? `\n     <ns3:OrgName>ООО &quot;Ромашка &amp; партнёры&quot;</ns3:OrgName>` : '') +
    `\n    </ns2:Owner>` +
    `\n    <ns2:Amount currency="RUB">${500 + (i % 10) * 250}.00</ns2:Amount>` +
    `\n    <ns2:Comment>Фиксация комплексом «Стрелка-СТ», заводской № ${pad(1000 + (i % 977), 5)} &lt;поверка до 2026-12-31&gt;</ns2:Comment>` +
    `\n   </ns1:Offence>`
  );
}

const MESSAGE_ID = 'db0486d0-3c08-11e5-95e2-d4c9eff07b77';

/** The sample's layout with `content` inside MessagePrimaryContent. */
function sampleLayout(content: string): string {
  return (
    `<S:Envelope xmlns:S="${SOAP_NS}" xmlns:ns="${TYPES_NS}">\n` +
    `   <S:Body>\n` +
    `      <ns2:SendRequestRequest xmlns:ns3="${FAULTS_NS}" xmlns:ns2="${TYPES_NS}" xmlns="${BASIC_NS}">\n` +
    `         <ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER" xmlns="${TYPES_NS}" xmlns:ns="${TYPES_NS}" xmlns:ns2="${BASIC_NS}">` +
    `<ns:MessageID>${MESSAGE_ID}</ns:MessageID><ns2:MessagePrimaryContent>${content}</ns2:MessagePrimaryContent><ns:TestMessage/></ns:SenderProvidedRequestData>\n` +
    `         <ns2:CallerInformationSystemSignature/>\n` +
    `      </ns2:SendRequestRequest>\n` +
    `   </S:Body>\n` +
    `</S:Envelope>`
  );
}

function breachRequest(records: number): string {
  let body = '';
  for (let i = 0; i < records; i++) body += offence(i);
  return (
    `<ns1:BreachRequest xmlns:ns1="${BREACH_ROOT_NS}" xmlns:ns2="${BREACH_COMMONS_NS}" xmlns:ns3="${SUPPLEMENTARY_NS}" Id="PERSONAL_SIGNATURE">` +
    `\n  <ns1:RequestedInformation> <ns2:RegPointNum>Т785ЕС57</ns2:RegPointNum> </ns1:RequestedInformation>` +
    `\n  <ns1:Governance> <ns2:Name>ГИБДД РФ</ns2:Name> <ns2:Code>GIBDD</ns2:Code> </ns1:Governance>` +
    `\n  <ns1:Offences count="${records}">${body}\n  </ns1:Offences>` +
    `\n</ns1:BreachRequest>`
  );
}

/**
 * The smallest SendRequest that still has every part the SMEV profile reads
 * (Envelope/Body/SendRequestRequest/SenderProvidedRequestData with an Id and
 * an empty CallerInformationSystemSignature) and one short business element;
 * namespace URIs as in the sample, each declared once.
 */
function minimal(): string {
  return (
    `<S:Envelope xmlns:S="${SOAP_NS}"><S:Body>` +
    `<ns:SendRequestRequest xmlns:ns="${TYPES_NS}">` +
    `<ns:SenderProvidedRequestData Id="SIGNED_BY_CONSUMER"><ns:MessageID>${MESSAGE_ID}</ns:MessageID>` +
    `<ns2:MessagePrimaryContent xmlns:ns2="${BASIC_NS}"><r:Q xmlns:r="${BREACH_ROOT_NS}" n="Т785ЕС57">ГИБДД</r:Q></ns2:MessagePrimaryContent>` +
    `</ns:SenderProvidedRequestData><ns:CallerInformationSystemSignature/>` +
    `</ns:SendRequestRequest></S:Body></S:Envelope>`
  );
}

export interface Envelope {
  /** Nominal size, e.g. "8 KB". */
  label: string;
  targetBytes: number;
  xml: string;
  bytes: number;
  records: number;
}

/** An envelope as close to `targetBytes` (UTF-8) as whole records allow; 0 records = the minimal one. */
export function envelopeOfSize(label: string, targetBytes: number): Envelope {
  const small = minimal();
  if (targetBytes <= Buffer.byteLength(sampleLayout(breachRequest(0)))) {
    return { label, targetBytes, xml: small, bytes: Buffer.byteLength(small), records: 0 };
  }
  const base = Buffer.byteLength(sampleLayout(breachRequest(0)));
  const per = (Buffer.byteLength(sampleLayout(breachRequest(64))) - base) / 64;
  let n = Math.max(1, Math.round((targetBytes - base) / per));
  const size = (k: number) => Buffer.byteLength(sampleLayout(breachRequest(k)));
  // records differ a little in length: settle on the count closest to the target
  while (n > 1 && Math.abs(size(n - 1) - targetBytes) < Math.abs(size(n) - targetBytes)) n--;
  while (Math.abs(size(n + 1) - targetBytes) < Math.abs(size(n) - targetBytes)) n++;
  const xml = sampleLayout(breachRequest(n));
  return { label, targetBytes, xml, bytes: Buffer.byteLength(xml), records: n };
}

export const KB = 1024;
export const MB = 1024 * 1024;
