// The words of the subscription pages and the confirmation mail, in the publication's language (German, or
// English as the fallback).

export interface SubscriptionStrings {
  readonly subscribeTitle: string;
  readonly checkInbox: string;
  readonly checkInboxText: string;
  readonly invalidAddress: string;
  readonly confirmTitle: string;
  readonly confirmText: string;
  readonly confirmButton: string;
  readonly confirmedTitle: string;
  readonly confirmedText: string;
  readonly alreadyConfirmed: string;
  readonly unsubscribeTitle: string;
  readonly unsubscribeText: string;
  readonly unsubscribeButton: string;
  readonly unsubscribedTitle: string;
  readonly unsubscribedText: string;
  readonly invalidLinkTitle: string;
  readonly invalidLinkText: string;
  readonly expiredLinkText: string;
  readonly tooManyTitle: string;
  readonly tooManyText: string;
  readonly backToSite: string;
  readonly mailSubject: (title: string) => string;
  readonly mailGreetingNamed: (name: string) => string;
  readonly mailGreeting: string;
  readonly mailText: (title: string) => string;
  readonly mailButton: string;
  readonly mailIgnore: string;
  readonly mailLinkHint: string;
  readonly consentDefault: (title: string) => string;
}

const STRINGS: Readonly<Record<'de' | 'en', SubscriptionStrings>> = {
  de: {
    subscribeTitle: 'Newsletter abonnieren',
    checkInbox: 'Bitte sehen Sie in Ihr Postfach',
    checkInboxText:
      'Wenn die Adresse stimmt, ist eine E-Mail mit einem Bestätigungslink unterwegs. Erst wenn Sie ihn öffnen und bestätigen, erhalten Sie den Newsletter.',
    invalidAddress:
      'Das ist keine gültige E-Mail-Adresse. Bitte gehen Sie zurück und prüfen Sie die Eingabe.',
    confirmTitle: 'Abonnement bestätigen',
    confirmText: 'Bitte bestätigen Sie, dass Sie den Newsletter erhalten möchten.',
    confirmButton: 'Ja, Newsletter abonnieren',
    confirmedTitle: 'Abonnement bestätigt',
    confirmedText: 'Danke! Sie erhalten den Newsletter ab der nächsten Ausgabe.',
    alreadyConfirmed: 'Dieses Abonnement ist bereits bestätigt.',
    unsubscribeTitle: 'Newsletter abbestellen',
    unsubscribeText: 'Möchten Sie den Newsletter nicht mehr erhalten?',
    unsubscribeButton: 'Newsletter abbestellen',
    unsubscribedTitle: 'Abgemeldet',
    unsubscribedText: 'Sie erhalten den Newsletter nicht mehr.',
    invalidLinkTitle: 'Link ungültig',
    invalidLinkText: 'Dieser Link ist ungültig. Bitte kopieren Sie ihn vollständig aus der E-Mail.',
    expiredLinkText: 'Dieser Bestätigungslink ist abgelaufen. Bitte melden Sie sich erneut an.',
    tooManyTitle: 'Zu viele Anfragen',
    tooManyText: 'Bitte versuchen Sie es in ein paar Minuten noch einmal.',
    backToSite: 'Zurück zur Website',
    mailSubject: (title) => `Bitte bestätigen Sie Ihr Abonnement von ${title}`,
    mailGreetingNamed: (name) => `Hallo ${name},`,
    mailGreeting: 'Hallo,',
    mailText: (title) =>
      `jemand – hoffentlich Sie – hat diese Adresse für den Newsletter von ${title} angemeldet. Bitte bestätigen Sie das Abonnement:`,
    mailButton: 'Abonnement bestätigen',
    mailIgnore:
      'Wenn Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Ohne Bestätigung erhalten Sie nichts. Der Link gilt sieben Tage.',
    mailLinkHint: 'Falls der Knopf nicht funktioniert, öffnen Sie diesen Link:',
    consentDefault: (title) => `Ich möchte den Newsletter von ${title} per E-Mail erhalten.`,
  },
  en: {
    subscribeTitle: 'Subscribe to the newsletter',
    checkInbox: 'Please check your inbox',
    checkInboxText:
      'If the address is right, an email with a confirmation link is on its way. You get the newsletter once you open it and confirm.',
    invalidAddress: 'That is not a valid email address. Please go back and check it.',
    confirmTitle: 'Confirm your subscription',
    confirmText: 'Please confirm that you want to receive the newsletter.',
    confirmButton: 'Yes, subscribe',
    confirmedTitle: 'Subscription confirmed',
    confirmedText: 'Thank you! You will receive the newsletter from the next issue on.',
    alreadyConfirmed: 'This subscription is already confirmed.',
    unsubscribeTitle: 'Unsubscribe',
    unsubscribeText: 'Do you no longer want to receive the newsletter?',
    unsubscribeButton: 'Unsubscribe',
    unsubscribedTitle: 'Unsubscribed',
    unsubscribedText: 'You will not receive the newsletter any more.',
    invalidLinkTitle: 'Invalid link',
    invalidLinkText: 'This link is not valid. Please copy it completely from the email.',
    expiredLinkText: 'This confirmation link has expired. Please sign up again.',
    tooManyTitle: 'Too many requests',
    tooManyText: 'Please try again in a few minutes.',
    backToSite: 'Back to the website',
    mailSubject: (title) => `Please confirm your subscription to ${title}`,
    mailGreetingNamed: (name) => `Hello ${name},`,
    mailGreeting: 'Hello,',
    mailText: (title) =>
      `someone, hopefully you, signed this address up for the newsletter of ${title}. Please confirm the subscription:`,
    mailButton: 'Confirm subscription',
    mailIgnore:
      'If that was not you, just ignore this email: without confirmation you get nothing. The link is valid for seven days.',
    mailLinkHint: 'If the button does not work, open this link:',
    consentDefault: (title) => `I want to receive the newsletter of ${title} by email.`,
  },
};

export function planSubscriptionStrings(language: string): SubscriptionStrings {
  return language.toLowerCase().split('-')[0] === 'de' ? STRINGS.de : STRINGS.en;
}
