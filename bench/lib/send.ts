/** Sends signed SendRequests (fresh MessageID each) and counts those accepted with a valid signed reply. */
import { checkReply } from './reply-check.js';
import { signedRequest } from './requests.js';

export interface SendResult {
  accepted: number;
  failed: number;
  firstErrors: string[];
  seconds: number;
}

export async function sendAccepted(opts: { url: string; count: number; concurrency: number; contentXml: string; onAccepted?: () => void }): Promise<SendResult> {
  let next = 0;
  let accepted = 0;
  let failed = 0;
  const firstErrors: string[] = [];
  const t0 = performance.now();
  const worker = async () => {
    while (next < opts.count) {
      next++;
      const req = await signedRequest(opts.contentXml, 'xmldsig');
      let problem: string | null;
      try {
        const res = await fetch(opts.url, { method: 'POST', headers: { 'content-type': 'text/xml; charset=utf-8', soapaction: '"urn:SendRequest"' }, body: req.xml, signal: AbortSignal.timeout(60_000) });
        const body = await res.text();
        problem = res.status === 200 ? checkReply(body, req.messageId) : `HTTP ${res.status}: ${body.slice(0, 300)}`;
      } catch (e) {
        problem = (e as Error).message;
      }
      if (problem) {
        failed++;
        if (firstErrors.length < 3) firstErrors.push(problem);
      } else {
        accepted++;
        opts.onAccepted?.();
      }
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  return { accepted, failed, firstErrors, seconds: (performance.now() - t0) / 1000 };
}
