// The links of the subscription service, shared by `kurier server` and the newsletter's List-Unsubscribe. Pure.

import { createToken, type KeyRing } from './tokens.ts';

/** The list tokens are bound to: the publication's host, as in its List-Id ("newsletter.kurier.example"). */
export function planListName(baseUrl: string): string {
  return `newsletter.${new URL(baseUrl).hostname}`;
}

/** <publicUrl>confirm?token=… */
export function planConfirmUrl(publicUrl: URL, token: string): string {
  return new URL(`confirm?token=${token}`, publicUrl).href;
}

/**
 * <publicUrl>unsubscribe?token=…: the page (GET, one button) and the RFC 8058 one-click target (POST) in one,
 * for the footer link and the List-Unsubscribe header.
 */
export function planUnsubscribeUrl(
  publicUrl: URL,
  ring: KeyRing,
  list: string,
  subscriberId: number,
  issuedAt: Date,
): string {
  const token = createToken(ring, { purpose: 'unsubscribe', list, subscriberId, issuedAt });
  return new URL(`unsubscribe?token=${token}`, publicUrl).href;
}
