// Why a delivery failed (Sisimai's reason names), from the diagnostic text and the status code, and what the
// reason means for a list: the reader's address is dead, is unable for now, or the sender was refused.

/** Sisimai's taxonomy (https://libsisimai.org/en/reason/), minus the reasons that are not failures. */
export type Reason =
  | 'userunknown'
  | 'hostunknown'
  | 'hasmoved'
  | 'notaccept'
  | 'mailboxfull'
  | 'exceedlimit'
  | 'suspend'
  | 'expired'
  | 'blocked'
  | 'rejected'
  | 'policyviolation'
  | 'spamdetected'
  | 'securityerror'
  | 'norelaying'
  | 'contenterror'
  | 'mesgtoobig'
  | 'virusdetected'
  | 'toomanyconn'
  | 'networkerror'
  | 'systemerror'
  | 'systemfull'
  | 'mailererror'
  | 'syntaxerror'
  | 'filtered'
  | 'onhold'
  | 'undefined';

/**
 * hard: the address is dead, suppress it; soft: the mailbox cannot take mail for now, count it;
 * refused: the sender or the message was refused, not the reader: never suppress, tell the sender.
 */
export type Severity = 'hard' | 'soft' | 'refused';

const DEAD: ReadonlySet<Reason> = new Set(['userunknown', 'hostunknown', 'hasmoved', 'notaccept']);
const UNABLE: ReadonlySet<Reason> = new Set(['mailboxfull', 'exceedlimit', 'suspend', 'expired']);
const AMBIGUOUS: ReadonlySet<Reason> = new Set(['filtered', 'onhold', 'undefined']);

/**
 * Dead addresses are hard when final, soft while the report still says "delayed" or 4.x.x (RFC 3463 §3.1);
 * a null MX (RFC 7505) is final whatever code the report gives it. A mailbox that is only unable (full,
 * suspended, its messages expired) is soft. Ambiguous reasons go by the status class. Everything else is a
 * refusal of the sender or the message, or a failure of the mail systems on the way: it says nothing about
 * the reader however often it recurs, so it never counts against them.
 */
export function planSeverity(reason: Reason, status: string | undefined, delayed: boolean): Severity {
  const transient = delayed || (status?.startsWith('4') ?? false);
  if (reason === 'notaccept') return 'hard';
  if (DEAD.has(reason) || AMBIGUOUS.has(reason)) return transient ? 'soft' : 'hard';
  if (UNABLE.has(reason)) return 'soft';
  return 'refused';
}

/**
 * Text patterns per reason, in the order they are tried: the more specific first (a full mailbox says
 * "mailbox" too; "sender address rejected" says "address rejected" too). Written from the wording of
 * Postfix, Exim, Sendmail, qmail, Exchange, Gmail, Yahoo, Outlook.com and others as Sisimai documents it.
 */
const TEXT_REASONS: readonly (readonly [Reason, RegExp])[] = [
  // A failure of a mail system's own directory, disk or resolver, or of its configuration, says nothing of
  // the reader, even when the report goes on that the message expired, the mailbox is unavailable or the
  // domain could not be found (qmail and qmail-ldap word these so).
  [
    'systemerror',
    /\b(?:unable to contact (?:the )?ldap server|ldap (?:server )?(?:error|unavailable)|(?:on|in|into) ldap (?:server|lookup)|ldap attribute|homedir creat(?:or|ion)|bad interpreter)\b/i,
  ],
  ['systemfull', /\bmailbox unavailable \(not enough free space\)/i],
  [
    'networkerror',
    /\b(?:temporary failure in name resolution|server failure(?: \(servfail\))? while resolving|listed as a best-preference MX)/i,
  ],
  // qmail: "Connected to 192.0.2.1 but my name was rejected", the sending host's name (HELO).
  ['blocked', /\bbut my name was rejected\b/i],
  [
    'virusdetected',
    /\b(?:virus(?:es)? (?:found|detected)|infected with|contains? (?:a )?virus|malware detected)\b/i,
  ],
  [
    'mesgtoobig',
    /\b(?:message (?:size )?(?:too (?:big|large)|exceeds (?:the )?(?:fixed |maximum )*(?:message )?size)|message (?:file )?too large|size (?:limit )?exceeded|exceeds size limit|mail size exceeds|message length exceeds)\b/i,
  ],
  [
    'norelaying',
    /\b(?:relay(?:ing)? (?:access )?(?:denied|not (?:permitted|allowed))|not permitted to relay|unable to relay|we do not relay|relaying (?:mail )?(?:to .* )?(?:is )?(?:denied|prohibited|not allowed))\b/i,
  ],
  [
    'mailboxfull',
    /\b(?:mailbox exceeds|exceeds? (?:the )?(?:allowed|maximum) (?:mailbox )?size|mail ?box (?:is )?(?:full|over ?quota|exceeded|size limit)|over ?quota|quota (?:exceeded|full|violation)|exceeded (?:storage|(?:the |his\/her )?quota|(?:the )?storage allocation)|(?:user|recipient|account) (?:is )?over (?:the )?quota|disk quota|not enough (?:disk )?space|mailfolder is full|mailbox has exceeded|full mailbox|storage (?:quota|limit) (?:exceeded|reached)|has exceeded (?:the )?(?:maximum|max) (?:mailbox|storage))/i,
  ],
  [
    'exceedlimit',
    /\b(?:message (?:size )?exceeds (?:the )?(?:local )?(?:limit|administrative)|exceeds? (?:the )?administrative limit|header size exceeds)\b/i,
  ],
  [
    'hasmoved',
    /\b(?:has been replaced by|address has (?:moved|changed)|no longer (?:valid|in use) ?, ?(?:use|new address))/i,
  ],
  // The sender's own account disabled is no reader's: said before the reader's account is looked for.
  [
    'rejected',
    /\b(?:mail sending denied|sender(?:'s)? account (?:is |has been )?(?:disabled|suspended|locked|blocked))/i,
  ],
  [
    'suspend',
    /\b(?:account .{0,40}\bis disabled|(?:temporar(?:y|ily) )?locked|has been disabled|(?:account|mailbox|address|user) (?:has been |is |was )?(?:disabled|suspended|inactive|deactivated|locked|frozen|expired|blocked by the administrator)|(?:disabled|suspended|inactive|deactivated|locked|expired|closed) (?:account|mailbox|recipient)|is not (?:an )?active|account (?:is )?not active|recipient (?:is )?(?:temporarily )?(?:suspended|inactive)|mailbox disabled|user (?:is )?suspended|account closed|mailbox is inactive|due to inactivity|extended inactivity|suspend(?:ed)? the service|dd \S+@\S+ is no longer valid|is currently suspended|(?:recipient|user|destination)(?:'s|\(s\))? (?:account|mailbox) (?:is |has been )?blocked|compte du destinataire est bloqu)/i,
  ],
  [
    'rejected',
    /\b(?:permission to post|not have permission|not allowed to post|sender (?:address )?(?:rejected|refused|denied|not allowed|blacklisted|verify failed|domain (?:must exist|is empty|not found))|domain of sender address .* does not exist|sender verification failed|sender domain (?:is invalid|not found|does not exist)|invalid sender|bad sender|unverified sender|mail from .* (?:rejected|refused)|return path rejected|after mail from|sender .* (?:rejected|refused|unknown)|sender address .* (?:does not exist|unknown)|is not a registered gateway user|mail sending denied|(?:empty envelope senders?|null sender) (?:is )?not allowed|returned mail not accepted here|sender not pre-?approved|unroutable sender address|mail from not owned by user|emetteur invalide|not allowed to post to this (?:mailing )?list|by non-member to a members-only list|has an outgoing mail suspension)/i,
  ],
  [
    'notaccept',
    /\b(?:null mx|does(?:n't| not) (?:receive|accept) (?:any )?e-?mail|not accepting (?:any )?mail|no mail (?:service|accepted)|does not accept mail)/i,
  ],
  [
    'hostunknown',
    /\b(?:domain (?:is )?not reachable|domain (?:is )?unreachable|host (?:or domain name )?(?:not found|unknown)|unknown host|domain (?:not found|does not exist|unknown|name not found|is not (?:valid|found))|unrouteable (?:mail )?domain|no (?:valid )?mx(?: record)?s?(?: found)?\b|name service error|nonexist(?:ent|ing) domain|unknown domain|no such domain|domain (?:name )?(?:lookup|resolution) failed|host name lookup failure|all (?:relevant )?mx hosts? (?:not found|unreachable|are invalid)|dns error|invalid domain|the domain .* does not (?:exist|accept)|(?:account or )?domain may not exist)\b/i,
  ],
  [
    // Exchange Online answers 5.4.1 "Recipient address rejected: Access denied" for addresses it does not
    // have (Directory-Based Edge Blocking), before any check of the sender.
    'userunknown',
    /\b(?:recipient address rejected: access denied|user(?:name)? (?:unknown|not found|not known|does not exist|doesn'?t exist|not listed|invalid)|unknown (?:user|recipient|local part|address|e-?mail address|mailbox)|no such (?:user|recipient|mailbox|address|account|local user|person)|(?:recipient|mailbox|account|address|e-?mail address|user) (?:does not exist|doesn'?t exist|not found|unknown|unavailable|invalid|not exist|is invalid|is unknown|rejected: (?:user unknown|undeliverable address))|(?:invalid|bad|unknown|non-?existent) (?:recipient|mailbox|user|address|e-?mail|account|destination mailbox)|mailbox (?:not found|unavailable|does not exist|name not allowed)|(?:recipient|user) not (?:found|recognized|recognised|known|local)|recipient name is not recognized|not a (?:valid|known) (?:user|mailbox|recipient)|unrouteable address|undeliverable address|address (?:not found|unknown|does not exist|invalid)|email account that you tried to reach does not exist|the email account .* does not exist|(?:is|was) not a (?:valid|known) (?:mailbox|user)|no mailbox (?:here|by that name)|mailbox (?:is )?(?:unknown|invalid)|(?:no|not) (?:an )?(?:such|valid) (?:local )?(?:mailbox|user)|this user doesn'?t have a|no account by that name|user (?:account )?is unavailable|RecipientNotFound|invalid address|sorry, no mailbox|no valid recipients|destination (?:address|mailbox) (?:invalid|unknown)|user reject|addressee unknown|does not have an account|Requested action not taken: mailbox unavailable|ERROR_CODE :550)/i,
  ],
  [
    'toomanyconn',
    /\b(?:too many (?:connections|concurrent|simultaneous|sessions)|connection (?:rate|limit) (?:exceeded|reached)|exceeded (?:the )?(?:maximum )?(?:number of )?connections|receiving mail (?:at a rate|too quickly)|thread limit exceeded|max(?:imum)? (?:number of )?messages? per connection|(?:message )?receive limit (?:from specific sender )?exceeded)\b/i,
  ],
  [
    'securityerror',
    /\b(?:smtp authentication|turn on (?:smtp )?auth|authentication (?:required|failed)|unauthenticated (?:e-?mail|mail|sender)|spf (?:check )?(?:fail|failure|validation failed|softfail)|fails? (?:to pass )?spf|dkim (?:fail|signature|check|validation)|dmarc (?:policy|fail|reject|check)|sender is not authenticated|5\.7\.(?:1|2[3-9])\b.*(?:spf|dkim|dmarc)|not authorized to send|(?:start)?tls (?:required|is required)|must issue a starttls|encryption required|must be authenticated|please use the smtp server of your isp|smtp auth(?:entication)? (?:is )?required|(?:sender|client) was not authenticated|not in allowed-senders list)/i,
  ],
  [
    'spamdetected',
    /\b(?:spam|junk mail|unsolicited (?:bulk )?(?:e-?mail|mail)|content (?:looks like|was identified as) spam|message (?:is|was|has been) (?:detected|classified|identified|marked) as (?:spam|junk)|bulk mail|scored too high|high spam score|spamassassin|rejected by (?:content|spam) filter|suspicious content|phishing|content filter agent)\b/i,
  ],
  [
    'expired',
    /\b(?:(?:delivery|retry) (?:time(?:out)?|period) (?:expired|exceeded)|retry timeout exceeded|too long in (?:the )?queue|in the queue too long|(?:has been|was) (?:queued|delayed|undeliverable) (?:for|too long)|could not be delivered (?:for|within)|message expired|failed \d+ attempts|expired|message timed out|queue (?:time|lifetime) exceeded|maximum time in queue|unable to deliver .* within|message (?:not|could not be) delivered (?:in|within) \d+|could not find a gateway for|not reachable within the allowed queue period|retry time not reached for any host after a long failure period)/i,
  ],
  [
    'blocked',
    /\b(?:invalid ip|service refused?|service refusé|blocked|black ?list(?:ed)?|block ?list(?:ed)?|listed (?:in|on|at)|spamhaus|spamcop|barracuda(?:central)?|\brbl\b|dnsbl|client host (?:\S+ )?rejected|access denied|(?:ip|host|client|connection) (?:address )?(?:is )?(?:rejected|refused|banned|not allowed|denied)|poor reputation|bad reputation|reputation|refused to talk|connection refused|not allowed to send|your (?:ip|server|host|network)|sending (?:ip|server|host)|reverse dns|rdns|ptr record|no reverse|dialup|dynamic ip|residential|service unavailable; client|banned|denied by policy|temporarily deferred|too many (?:messages|mails|recipients) from|rate limit(?:ed)?|sender rate|throttl)/i,
  ],
  [
    'policyviolation',
    /\b(?:policy|prohibited|not allowed by|forbidden|violat(?:es|ion)|message (?:rejected|refused|not accepted)|rejected (?:for|due to) (?:policy|content)|content rejected|attachment (?:type )?(?:not allowed|rejected|blocked)|does not comply|disallowed|(?:security|content) policies)\b/i,
  ],
  [
    'contenterror',
    /\b(?:header (?:error|too long|syntax)|illegal (?:header|character)|invalid (?:header|mime|message format)|message (?:has )?(?:bad|invalid|malformed) (?:header|content|format)|line too long|bare (?:lf|cr)|8-?bit (?:data|characters) not (?:allowed|accepted)|malformed|invalid characters|bare line ?feed|(?:multiple|duplicate) (?:[\w-]+ )?headers?|not rfc ?5322 compliant|RfcMessageNonCompliant)\b/i,
  ],
  [
    'networkerror',
    /\b(?:host (?:is )?not reachable|(?:mail|routing) loop|loop detected|too many hops|hop count exceeded|connection (?:timed out|timeout|reset|lost)|did not accept our requests to connect|socket error|timed out|network (?:is )?unreachable|no route to host|could not connect|unable to connect|couldn'?t connect|temporary (?:dns|lookup) failure|lost connection|host (?:is )?unreachable|broken pipe|did not (?:respond|answer)|no answer)\b/i,
  ],
  [
    'systemfull',
    /\b(?:(?:system|disk|file system|filesystem|partition) (?:is )?full|insufficient system (?:storage|resources)|out of (?:disk )?(?:space|memory)|insufficient disk space|mail system full)\b/i,
  ],
  [
    'mailererror',
    /(?:\bpipe to \||\b(?:x-unix|mailer error|command (?:died|failed|not found)|pipe to .* failed|procmail|local delivery failed|unknown mailer|exited with|mail\.local|deliver(?:y)? command|program exited)\b)/i,
  ],
  [
    'systemerror',
    /\b(?:service (?:is )?(?:currently |temporarily )?unavailable|system (?:error|failure|config)|internal (?:server )?error|server (?:error|failure|configuration)|local (?:configuration )?error|configuration error|temporary (?:local )?(?:problem|failure|error)|unable to (?:process|handle)|resources? temporarily unavailable|mail system problem|error in processing|queue file write error|loops back to myself|unexpected error|try again later|service (?:not available|unavailable)|not available)\b/i,
  ],
  [
    'syntaxerror',
    /\b(?:syntax error|command unrecognized|unrecognized command|bad sequence of commands|command not implemented|parameter not implemented)\b/i,
  ],
  [
    'filtered',
    /\b(?:filtered|filter|rejected by (?:the )?(?:recipient|user)|refused by (?:the )?recipient|mail rule)\b/i,
  ],
];

/** The reason the wording names, if it names one. */
export function parseReasonFromText(text: string): Reason | undefined {
  for (const [reason, pattern] of TEXT_REASONS) if (pattern.test(text)) return reason;
  return undefined;
}

/** RFC 3463 subject and detail codes that name a reason on their own; `x.0.0` and the like name none. */
const STATUS_REASONS: Readonly<Record<string, Reason>> = {
  '1.1': 'userunknown',
  '1.2': 'hostunknown',
  '1.3': 'userunknown',
  '1.4': 'userunknown',
  '1.6': 'hasmoved',
  '1.7': 'rejected',
  '1.8': 'rejected',
  '1.10': 'notaccept',
  '2.1': 'suspend',
  '2.2': 'mailboxfull',
  '2.3': 'exceedlimit',
  '2.4': 'systemerror',
  '3.1': 'systemfull',
  '3.2': 'systemerror',
  '3.0': 'systemerror',
  '3.3': 'systemerror',
  '3.4': 'mesgtoobig',
  '3.5': 'systemerror',
  '4.1': 'networkerror',
  '4.2': 'networkerror',
  '4.3': 'systemerror',
  '4.4': 'hostunknown',
  '4.5': 'systemfull',
  '4.6': 'networkerror',
  '4.7': 'expired',
  '5.0': 'syntaxerror',
  '5.1': 'syntaxerror',
  '5.2': 'syntaxerror',
  '5.3': 'toomanyconn',
  '5.4': 'syntaxerror',
  '6.0': 'contenterror',
  '6.1': 'contenterror',
  '6.2': 'contenterror',
  '6.3': 'contenterror',
  '6.5': 'contenterror',
  '7.0': 'securityerror',
  '7.1': 'blocked',
  '7.2': 'policyviolation',
  '7.3': 'securityerror',
  '7.4': 'securityerror',
  '7.5': 'securityerror',
  '7.6': 'securityerror',
  '7.7': 'securityerror',
  '7.8': 'securityerror',
  '7.9': 'securityerror',
  '7.23': 'securityerror',
  '7.24': 'securityerror',
  '7.25': 'securityerror',
  '7.26': 'securityerror',
  '7.27': 'notaccept',
};

/**
 * RFC 3463 §3: the subject alone still names the kind of failure when a server uses a detail code of its
 * own (Exchange Online's 5.7.124, 5.6.11, 5.4.300): mail system, network, protocol, content, security.
 * Addressing (x.1.x) and mailbox (x.2.x) subjects say too little without a known detail.
 */
const SUBJECT_REASONS: Readonly<Record<string, Reason>> = {
  '3': 'systemerror',
  '4': 'networkerror',
  '5': 'syntaxerror',
  '6': 'contenterror',
  '7': 'securityerror',
};

export function parseReasonFromStatus(status: string | undefined): Reason | undefined {
  if (status === undefined) return undefined;
  const detail = status.slice(2);
  return STATUS_REASONS[detail] ?? SUBJECT_REASONS[detail.split('.')[0] as string];
}

/**
 * The SMTP command a refusal answered (Postfix: "in reply to MAIL FROM command"; Exim: "after RCPT TO"):
 * refused at the greeting or EHLO, the sending host was; at MAIL FROM, the sender address was. Both are
 * the sender's problem, whatever the reader's address.
 */
function reasonFromCommand(diagnostic: string): Reason | undefined {
  if (
    /\b(?:after (?:initial connection|connect|EHLO|HELO)|in reply to (?:EHLO|HELO|the initial greeting))\b/i.test(
      diagnostic,
    )
  ) {
    return 'blocked';
  }
  if (/\b(?:after MAIL FROM|in reply to MAIL FROM)\b/i.test(diagnostic)) return 'rejected';
  return undefined;
}

/** Google Groups answers posts by non-members with a bounce in the poster's language (Sisimai's GoogleGroups). */
function reasonFromHost(address: string | undefined): Reason | undefined {
  return address?.endsWith('@googlegroups.com') ? 'rejected' : undefined;
}

/**
 * Servers answer 5.1.1 for a full mailbox, a moved or suspended one, or a refused sender as well (a
 * qmail-toaster says "over quota (#5.1.1)"); the wording of these few reasons is unambiguous enough to win.
 */
const OVERRIDE_USER_UNKNOWN: readonly Reason[] = [
  'mailboxfull',
  'norelaying',
  'hasmoved',
  'rejected',
  'notaccept',
  'suspend',
];

/**
 * Orange and La Poste end each refusal with a code of their own (`OFR_506`, `LPN007_426`, `OFR004_201`)
 * whose last three digits they document; the wording beside it is a generic "Mail rejete".
 */
const PROVIDER_CODES: Readonly<Record<string, Reason>> = {
  '102': 'blocked',
  '103': 'blocked',
  '104': 'toomanyconn',
  '305': 'securityerror',
  '401': 'blocked',
  '402': 'securityerror',
  '403': 'rejected',
  '405': 'rejected',
  '415': 'rejected',
  '416': 'userunknown',
  '417': 'mailboxfull',
  '418': 'userunknown',
  '420': 'suspend',
  '421': 'rejected',
  '426': 'suspend',
  '505': 'systemerror',
  '506': 'spamdetected',
  '510': 'blocked',
  '514': 'mesgtoobig',
  '999': 'blocked',
};

/** Exchange's own names for its refusals (`550 5.2.3 RESOLVER.RST.RecipSizeLimit; message too large…`). */
const EXCHANGE_CODES: Readonly<Record<string, Reason>> = {
  'resolver.adr.recipnotfound': 'userunknown',
  'resolver.adr.exrecipnotfound': 'userunknown',
  'resolver.adr.recipientnotfound': 'userunknown',
  'resolver.adr.reciplimit': 'toomanyconn',
  'resolver.rst.recipsizelimit': 'mesgtoobig',
  'resolver.rst.sendsizelimit': 'mesgtoobig',
  'resolver.rst.notauthorized': 'rejected',
  'resolver.rst.authrequired': 'securityerror',
  'smtpsend.dns.nonexistentdomain': 'hostunknown',
  'smtpsend.dns.mxloopback': 'networkerror',
  'queue.expired': 'expired',
};

/**
 * Facebook's mail servers answered with response codes of their own (`550 5.1.1 RCP-P2`), documented at
 * postmaster.facebook.com/response_codes: RCP the recipient, MSG the message, POL and DNS the sender.
 */
const FACEBOOK_CODES: Readonly<Record<string, Reason>> = {
  'RCP-P1': 'userunknown',
  'INT-P1': 'userunknown',
  'INT-P3': 'userunknown',
  'INT-P4': 'userunknown',
  'RCP-P2': 'filtered',
  'RCP-P3': 'filtered',
  'RCP-T4': 'suspend',
  'MSG-P1': 'mesgtoobig',
  'INT-P2': 'mesgtoobig',
  'MSG-P2': 'contenterror',
  'MSG-P3': 'contenterror',
  'POL-P1': 'blocked',
  'POL-P2': 'blocked',
  'POL-P3': 'blocked',
  'POL-P4': 'blocked',
  'POL-P5': 'virusdetected',
  'POL-P6': 'contenterror',
  'POL-P7': 'policyviolation',
  'DNS-P1': 'rejected',
  'DNS-P2': 'rejected',
  'DNS-P3': 'blocked',
  'CON-T1': 'systemerror',
  'CON-T3': 'toomanyconn',
};

function parseProviderCode(diagnostic: string): Reason | undefined {
  const code = /\b(?:LPN|OFR|OUK)(?:\d{3})?[_-](\d{3})\b/i.exec(diagnostic)?.[1];
  if (code !== undefined) return PROVIDER_CODES[code];
  const exchange = /\b((?:RESOLVER|SMTPSEND|QUEUE)\.[A-Za-z]+(?:\.[A-Za-z]+)?)\b/.exec(diagnostic)?.[1];
  if (exchange !== undefined) return EXCHANGE_CODES[exchange.toLowerCase()];
  const facebook = /\b(?:RCP|INT|MSG|POL|DNS|CON)-[PT]\d\b/.exec(diagnostic)?.[0];
  return facebook === undefined ? undefined : FACEBOOK_CODES[facebook];
}

/**
 * The status code says more than the wording when it names a mailbox problem (5.1.1, 5.2.2); the wording
 * says more when the code is generic (5.0.0, 5.7.1 covers everything from spam to a blocked IP).
 */
export function planReason(status: string | undefined, diagnostic: string, address?: string): Reason {
  const byProvider = parseProviderCode(diagnostic);
  if (byProvider !== undefined) return byProvider;
  const byStatus = parseReasonFromStatus(status);
  const byText = parseReasonFromText(diagnostic);
  if (byStatus !== undefined && /^\d\.(?:1\.[12346]|1\.10|2\.2|2\.3)$/.test(status ?? '')) {
    if (byStatus === 'userunknown' && byText !== undefined && OVERRIDE_USER_UNKNOWN.includes(byText)) {
      return byText;
    }
    return byStatus;
  }
  return (
    byText ??
    reasonFromCommand(diagnostic) ??
    reasonFromHost(address) ??
    byStatus ??
    (status?.startsWith('4') ? 'onhold' : 'undefined')
  );
}

/** `5.1.1` from a diagnostic such as `550-5.1.1 The email account…`; IP addresses, versions and 2.x.x successes are not taken. */
export function parseStatusCode(text: string): string | undefined {
  return /(?<![\d.])([45]\.\d{1,3}\.\d{1,3})(?!\.?\d)/.exec(text)?.[1];
}

/** The SMTP reply code (`550`) in a diagnostic, when there is one. */
export function parseReplyCode(text: string): number | undefined {
  const match = /(?<![\d.#:-])([45][0-5]\d)(?:[ -]|$)(?![\d.])/m.exec(text);
  return match ? Number(match[1]) : undefined;
}
