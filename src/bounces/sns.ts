// Amazon SNS messages posted to an HTTPS endpoint: the envelope checked by a schema, and its signature
// verified as https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html describes.
// Pure: the certificate is an input, fetched by the server.

import { verify, X509Certificate } from 'node:crypto';
import { z } from '../schema.ts';

const base = {
  MessageId: z.string().min(1).max(200),
  TopicArn: z.string().min(1).max(1000),
  Message: z.string().max(262_144),
  Timestamp: z.string().min(1).max(100),
  SignatureVersion: z.enum(['1', '2']),
  Signature: z.string().min(1).max(2000),
  SigningCertURL: z.string().min(1).max(2000),
};

const envelopeSchema = z.discriminatedUnion('Type', [
  z.object({ Type: z.literal('Notification'), Subject: z.string().max(1000).optional(), ...base }),
  z.object({
    Type: z.enum(['SubscriptionConfirmation', 'UnsubscribeConfirmation']),
    SubscribeURL: z.string().min(1).max(2000),
    Token: z.string().min(1).max(2000),
    ...base,
  }),
]);

export type SnsMessage = z.output<typeof envelopeSchema>;

export function parseSnsMessage(body: unknown): SnsMessage | undefined {
  let value = body;
  // SNS posts JSON as text/plain; a proxy may have relabelled it application/json.
  if (typeof body === 'string') {
    try {
      value = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  const parsed = envelopeSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * The canonical string AWS signs: name and value of each field, each on a line of its own, in this order;
 * Subject only when the notification has one.
 */
export function planSnsStringToSign(message: SnsMessage): string {
  const fields: [string, string | undefined][] =
    message.Type === 'Notification'
      ? [
          ['Message', message.Message],
          ['MessageId', message.MessageId],
          ['Subject', message.Subject],
          ['Timestamp', message.Timestamp],
          ['TopicArn', message.TopicArn],
          ['Type', message.Type],
        ]
      : [
          ['Message', message.Message],
          ['MessageId', message.MessageId],
          ['SubscribeURL', message.SubscribeURL],
          ['Timestamp', message.Timestamp],
          ['Token', message.Token],
          ['TopicArn', message.TopicArn],
          ['Type', message.Type],
        ];
  return fields
    .filter((field): field is [string, string] => field[1] !== undefined)
    .map(([name, value]) => `${name}\n${value}\n`)
    .join('');
}

/**
 * Where SNS keeps its signing certificates: https on sns.<region>.amazonaws.com (.com.cn in China), a .pem
 * file. Anyone can sign with a certificate of their own; only one fetched from there proves AWS sent it.
 */
export const AWS_SIGNING_CERT_URL = /^https:\/\/sns\.[a-z0-9-]+\.amazonaws\.com(?:\.cn)?\/[^?#]+\.pem$/;

export type SnsCheck = { readonly ok: true } | { readonly ok: false; readonly problem: string };

/** The signature of `message`, by the certificate from its SigningCertURL, valid at `now`. */
export function checkSnsSignature(message: SnsMessage, certificatePem: string, now: Date): SnsCheck {
  let certificate: X509Certificate;
  try {
    certificate = new X509Certificate(certificatePem);
  } catch {
    return { ok: false, problem: 'the signing certificate cannot be read' };
  }
  if (now < new Date(certificate.validFrom) || now > new Date(certificate.validTo)) {
    return { ok: false, problem: 'the signing certificate is not valid now' };
  }
  // SignatureVersion 1 is SHA1withRSA, 2 SHA256withRSA.
  const algorithm = message.SignatureVersion === '1' ? 'sha1' : 'sha256';
  let valid = false;
  try {
    valid = verify(
      algorithm,
      Buffer.from(planSnsStringToSign(message), 'utf8'),
      certificate.publicKey,
      Buffer.from(message.Signature, 'base64'),
    );
  } catch {
    // A key that cannot verify this algorithm (not RSA): no signature of AWS.
  }
  return valid ? { ok: true } : { ok: false, problem: 'the signature does not match the message' };
}
