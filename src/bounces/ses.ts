// Amazon SES notifications mailed through SNS (a JSON body instead of a DSN): bounces, complaints and
// deliveries, per https://docs.aws.amazon.com/ses/latest/dg/notification-contents.html.

import { z } from '../schema.ts';

const recipientSchema = z.object({
  emailAddress: z.string(),
  action: z.string().optional(),
  status: z.string().optional(),
  diagnosticCode: z.string().optional(),
});

const mailSchema = z
  .object({
    messageId: z.string().optional(),
    source: z.string().optional(),
    commonHeaders: z.object({ messageId: z.string().optional() }).optional(),
  })
  .optional();

const notificationSchema = z.discriminatedUnion('notificationType', [
  z.object({
    notificationType: z.literal('Bounce'),
    bounce: z.object({
      bounceType: z.string(),
      bounceSubType: z.string().optional(),
      bouncedRecipients: z.array(recipientSchema),
    }),
    mail: mailSchema,
  }),
  z.object({
    notificationType: z.literal('Complaint'),
    complaint: z.object({
      complainedRecipients: z.array(recipientSchema),
      complaintFeedbackType: z.string().optional(),
    }),
    mail: mailSchema,
  }),
  z.object({ notificationType: z.literal('Delivery'), mail: mailSchema }),
]);

export type SesNotification = z.infer<typeof notificationSchema>;

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // Mail systems fold lines longer than 998 octets (RFC 5322 §2.1.1) with a newline and a space.
    try {
      return JSON.parse(text.replace(/\r?\n[ \t]/g, ''));
    } catch {
      return undefined;
    }
  }
}

/** The notification in a mail body, bare or wrapped in an SNS envelope (`"Message": "<json>"`); else undefined. */
export function parseSesNotification(body: string): SesNotification | undefined {
  const start = body.indexOf('{');
  const end = body.lastIndexOf('}');
  if (start === -1 || end < start || !body.includes('notificationType')) return undefined;
  let value = parseJson(body.slice(start, end + 1));
  if (
    value !== null &&
    typeof value === 'object' &&
    'Message' in value &&
    typeof value.Message === 'string'
  ) {
    value = parseJson(value.Message);
  }
  const parsed = notificationSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}
