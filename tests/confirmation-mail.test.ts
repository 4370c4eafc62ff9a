// The confirmation mail as a mail client reads it, and the retry plan of its queue.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planConfirmationRetry } from '../src/server/confirmation-sender.ts';
import { prepareConfirmationMail, readConfirmationTemplates } from '../src/subscribe/confirmation-mail.ts';
import { repoRoot } from './support/project.ts';
import { parseMessage } from './support/smtp.ts';

const templates = await readConfirmationTemplates(path.join(repoRoot, 'templates'));
const site = {
  title: 'Kurier',
  url: 'https://kurier.example/',
  imprint: ['Kurier – Rolevinck', 'Musterstraße 1', '44787 Bochum'],
  from: { name: 'Kurier Redaktion', email: 'newsletter@kurier.example' },
};
const reader = {
  id: '17',
  email: 'anna@example.org',
  name: 'Anna <script>alert(1)</script> Müller',
  confirmUrl: 'https://kurier.example/newsletter/confirm?token=EUiPswAAAAFrDuhmvl0LF8QJ_g5_RuBiGlttJA',
  date: new Date('2026-11-26T10:00:00Z'),
};

describe('the confirmation mail', () => {
  it('reads as a German mail with the link in both parts and the reader’s name as text', async () => {
    const mailer = await prepareConfirmationMail(templates, { ...site, language: 'de' });
    const mail = await parseMessage(mailer(reader));
    expect(mail.subject).toBe('Bitte bestätigen Sie Ihr Abonnement von Kurier');
    expect(mail.from?.text).toBe('"Kurier Redaktion" <newsletter@kurier.example>');
    expect(mail.messageId).toBe('<confirm.17@kurier.example>');
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.text).toContain('Hallo Anna <script>alert(1)</script> Müller,');
    expect(mail.text).toContain(reader.confirmUrl);
    // Escaped as Handlebars escapes (also "="): the browser reads the attribute back as the URL.
    expect(mail.html).toContain(`href="${reader.confirmUrl.replaceAll('=', '&#x3D;')}"`);
    expect(mail.html).toContain('Hallo Anna &lt;script&gt;alert(1)&lt;/script&gt; Müller,');
    expect(mail.html).not.toContain('<script>');
    expect(mail.text).toContain('Musterstraße 1');
  });

  it('speaks English for other languages and greets without a name', async () => {
    const mailer = await prepareConfirmationMail(templates, { ...site, language: 'en-GB' });
    const mail = await parseMessage(mailer({ ...reader, name: '' }));
    expect(mail.subject).toBe('Please confirm your subscription to Kurier');
    expect(mail.text?.startsWith('Hello,\n')).toBe(true);
  });

  it('refuses a template without the link', async () => {
    const broken = { ...templates, text: { file: 'templates/confirm.txt.hbs', source: '{{greeting}}\n' } };
    await expect(prepareConfirmationMail(broken, { ...site, language: 'de' })).rejects.toMatchObject({
      code: 'TEMPLATE_INVALID',
      file: 'templates/confirm.txt.hbs',
    });
  });
});

describe('retries of a confirmation mail', () => {
  it.each([
    [1, 60_000],
    [2, 120_000],
    [4, 480_000],
    [7, 3_600_000],
  ])('after attempt %i waits %i ms', (attempts, delay) => {
    expect(planConfirmationRetry(attempts)).toBe(delay);
  });
});
