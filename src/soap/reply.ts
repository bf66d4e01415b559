/**
 * Success replies of the message-exchange service, signed by the gateway
 * (SMEVSignature) with the profile registered for the partner. The signed
 * element is built as text, parsed on its own (exclusive c14n makes its
 * canonical form independent of the envelope around it) and signed; the
 * envelope is then assembled around it.
 */
import { buildSignature, type SignatureProfile } from '../signature/sign.js';
import type { Signer } from '../pki/signer.js';
import { parseXml } from '../xml/parser.js';
import { ns, SOAP11_NS, xmlText, type SmevVersion } from './namespaces.js';

export type InteractionStatus =
  | 'doesNotExist'
  | 'requestIsQueued'
  | 'requestIsAcceptedBySmev'
  | 'requestIsRejectedBySmev'
  | 'underProcessing'
  | 'responseIsAcceptedBySmev'
  | 'cancelled'
  | 'responseIsDelivered';

export interface MessageMetadataInput {
  messageId: string;
  messageType: 'REQUEST' | 'RESPONSE';
  sender: { mnemonic: string; name: string };
  recipient: { mnemonic: string; name: string };
  sendingTimestamp: Date;
  destinationName: string;
  contentTypeName: string;
  interactionType: 'PGU2OIV' | 'OIV2OIV';
  status: InteractionStatus;
}

export const SIGNED_REPLY_ID = 'SIGNED_BY_SMEV';

export interface ReplySigning {
  signer: Signer;
  profile: SignatureProfile;
}

async function signed(elementXml: string, signing: ReplySigning): Promise<string> {
  return buildSignature(parseXml(elementXml).root, signing.signer, signing.profile, false);
}

function envelope(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><soap:Envelope xmlns:soap="${SOAP11_NS}"><soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/** SendRequestResponse / SendResponseResponse with signed MessageMetadata. */
export async function messageAccepted(
  operation: 'SendRequestResponse' | 'SendResponseResponse',
  version: SmevVersion,
  md: MessageMetadataInput,
  signing: ReplySigning,
): Promise<string> {
  const t = ns.types(version);
  const metadata =
    `<t:MessageMetadata xmlns:t="${t}" Id="${SIGNED_REPLY_ID}">` +
    `<t:MessageId>${xmlText(md.messageId)}</t:MessageId>` +
    `<t:MessageType>${md.messageType}</t:MessageType>` +
    `<t:Sender><t:Mnemonic>${xmlText(md.sender.mnemonic)}</t:Mnemonic><t:HumanReadableName>${xmlText(md.sender.name)}</t:HumanReadableName></t:Sender>` +
    `<t:SendingTimestamp>${md.sendingTimestamp.toISOString()}</t:SendingTimestamp>` +
    `<t:DestinationName>${xmlText(md.destinationName)}</t:DestinationName>` +
    `<t:Recipient><t:Mnemonic>${xmlText(md.recipient.mnemonic)}</t:Mnemonic><t:HumanReadableName>${xmlText(md.recipient.name)}</t:HumanReadableName></t:Recipient>` +
    `<t:SupplementaryData><t:DetectedContentTypeName>${xmlText(md.contentTypeName)}</t:DetectedContentTypeName><t:InteractionType>${md.interactionType}</t:InteractionType></t:SupplementaryData>` +
    `<t:Status>${md.status}</t:Status>` +
    `</t:MessageMetadata>`;
  const signature = await signed(metadata, signing);
  return envelope(`<t:${operation} xmlns:t="${t}">${metadata.replace(` xmlns:t="${t}"`, '')}<t:SMEVSignature>${signature}</t:SMEVSignature></t:${operation}>`);
}

export interface AsyncStatusInput {
  originalMessageId: string;
  status: InteractionStatus;
  details?: string;
}

/** GetStatusResponse: the next status message for the caller, or empty when there is none. */
export async function statusReply(version: SmevVersion, status: AsyncStatusInput | null, signing: ReplySigning): Promise<string> {
  const t = ns.types(version);
  if (!status) return envelope(`<t:GetStatusResponse xmlns:t="${t}"></t:GetStatusResponse>`);
  const data =
    `<t:AsyncProcessingStatusData xmlns:t="${t}" Id="${SIGNED_REPLY_ID}"><t:AsyncProcessingStatus>` +
    `<t:OriginalMessageId>${xmlText(status.originalMessageId)}</t:OriginalMessageId>` +
    `<t:StatusCategory>${status.status}</t:StatusCategory>` +
    (status.details ? `<t:StatusDetails>${xmlText(status.details.slice(0, 500))}</t:StatusDetails>` : '') +
    `</t:AsyncProcessingStatus></t:AsyncProcessingStatusData>`;
  const signature = await signed(data, signing);
  return envelope(
    `<t:GetStatusResponse xmlns:t="${t}"><t:SmevAsyncProcessingMessage>${data.replace(` xmlns:t="${t}"`, '')}<t:SMEVSignature>${signature}</t:SMEVSignature></t:SmevAsyncProcessingMessage></t:GetStatusResponse>`,
  );
}

/** AckResponse (basic:Void: nothing to sign). */
export function ackReply(version: SmevVersion): string {
  return envelope(`<t:AckResponse xmlns:t="${ns.types(version)}"></t:AckResponse>`);
}
