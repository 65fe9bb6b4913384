"""Who wrote a message: a person, or a machine? And is an unknown person a prospect?

Two questions with two answers. `robot_reason` names the signs no person's mail carries
(a bounce, a report, an auto-reply, the mail system's own address, mail to a bounce
address): it is asked of every sender, a client's own address included, before the client
directory. `machine_reason` casts the wide net a stranger needs (lists, bulk and
transactional services, robot-looking addresses, unsubscribe footers): it decides who is
a prospect, what mail from a client's domain is the client's, and which of a client's own
messages Heard is not sure of (counted and shown, never answered automatically).

A prospect is someone new who may become a client: a message from a sender who is not in
the client directory (the caller checks that first), is not from the user's own
organisation, is not on the user's "not a client" list, and is written by a person to
the user, not sent by a machine, a mailing list or a bulk or transactional service.

Reason phrases
--------------
`machine_reason` (and `robot_reason`, with fewer signs) returns one short phrase naming
the sign it saw, or None for mail that looks written by a person. The phrase has no
prefix; each caller adds its own ("auto-generated: Precedence", "not a prospect:
List-Unsubscribe"). The phrases:

- the RFC 3834 signs of `auto_generated_reason`, unchanged: "Auto-Submitted",
  "Precedence", "List-Id", "List-Unsubscribe", "List-Post", "X-Auto-Response-Suppress",
  "empty Return-Path (bounce)", "X-Autoreply";
- other list headers by name: "List-Help", "List-Subscribe", "List-Owner",
  "List-Archive", "Mailing-List", "X-Mailing-List", "X-BeenThere (Mailman)",
  "X-List headers", "X-Precedence";
- reports: "bounce report", "read receipt", "abuse report (ARF)", "delivery report";
- "auto-reply" (an auto-reply header or an "Automatic reply:" / "Out of Office" subject),
  "calendar reply" ("Accepted:", "Declined:" ...);
- a known sending service: "mailing service (Mailchimp)", "notification service (GitHub)";
- a bulk marker header by name: "X-Campaign", "X-Report-Abuse", "X-CSA-Complaints",
  "X-Complaints-To", "X-Newsletter", "Feedback-ID (bulk sender)";
- "bulk mailer (X-Mailer: PHPMailer)";
- the sender's address: "no-reply sender", "automated sender (notifications@)",
  "automated sender domain (news.example.com)", "mailing-list Sender";
- the envelope: "bulk Return-Path", "mailing service (Amazon SES)" by bounce domain;
- (robot_reason only) "mail system sender (postmaster@)" or by its name ("mail system
  sender (Mail Delivery System)"), "sent to a bounce address (list-bounces@...)";
- "marked as spam (X-Spam-Flag)";
- the text: "unsubscribe footer".

Decisions
---------
- Calendar invitations are judged by who sends them. An invitation whose From is a
  person (Google Calendar and Outlook put the organiser there) is human: a stranger
  asking for a meeting is exactly a prospect. Reminders and notifications come from
  robot addresses (calendar-notification@google.com) and are caught as such; replies to
  the user's own invitations ("Accepted: ...") are answers, not first contacts.
- Some signs are shared with mail that people write: Amazon SES also carries Amazon
  WorkMail, and Feedback-ID is set by some hosted mail services. Those two alone do not
  make a message machine-made when a person's mail program (X-Mailer / User-Agent of
  Outlook, Apple Mail, Thunderbird, WorkMail ...) wrote it. Missing a prospect costs
  more than one extra line in the waiting list.
- Mail programs, DKIM, ARC, X-Originating-IP and the like are never machine signs:
  every person's mail has them.
- Contact-form and voicemail notifications are robots carrying a person; they are
  recognised (by heard.domain.relayed) before this module is asked, so flagging them
  here is expected.
"""

from __future__ import annotations

import functools
import re
from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from heard.domain.clients import normalize_domain, normalize_email
from heard.domain.messages import MessageFacts, auto_generated_reason

PROSPECT = "possible prospect: new human sender"
_NOT = "not a prospect: "

# --- headers ---------------------------------------------------------------------------

# List headers beyond the three auto_generated_reason reads (RFC 2369, 2919).
_LIST_HEADERS = ("list-help", "list-subscribe", "list-owner", "list-archive")
_OTHER_LIST_HEADERS = {
    "mailing-list": "Mailing-List",             # ezmlm, Yahoo Groups
    "x-mailing-list": "X-Mailing-List",         # SmartList, older lists
    "x-beenthere": "X-BeenThere (Mailman)",
    "x-mailman-version": "X-BeenThere (Mailman)",
    "x-ml-name": "Mailing-List",                 # fml (Japan)
    "x-google-group-id": "Mailing-List",
    "x-yahoo-newman-property": "Mailing-List",
}

# Headers that only a sending service adds, by exact name or by prefix -> the service.
_SERVICE_EXACT = {
    "x-mc-user": "Mailchimp",
    "x-mandrill-user": "Mailchimp",
    "x-msfbl": "SparkPost",
    "x-sfmc-stack": "Salesforce Marketing Cloud",
    "x-sib-id": "Brevo",
    "x-pm-rcpt": "Postmark",
    "x-pm-tag": "Postmark",
    "x-mailgun-sid": "Mailgun",
    "x-mailgun-variables": "Mailgun",
    "x-mailgun-tag": "Mailgun",
    "x-mailgun-batch-id": "Mailgun",
    "x-hs-cid": "HubSpot",
    "x-marketoid": "Marketo",
    "x-mktmail": "Marketo",
    "x-icpinfo": "iContact",
}
_SERVICE_PREFIXES = (
    ("x-mc-", "Mailchimp"),
    ("x-mandrill-", "Mailchimp"),
    ("x-sg-", "SendGrid"),
    ("x-mailin-", "Brevo"),
    ("x-sendinblue", "Brevo"),
    ("x-kmail-", "Klaviyo"),
    ("x-klaviyo", "Klaviyo"),
    ("x-roving-", "Constant Contact"),
    ("x-cmail-", "Campaign Monitor"),
    ("x-mj-", "Mailjet"),
    ("x-mailjet", "Mailjet"),
    ("x-hubspot", "HubSpot"),
    ("x-pardot", "Salesforce Pardot"),
    ("x-sfmc", "Salesforce Marketing Cloud"),
    ("x-mkto", "Marketo"),
    ("x-aweber", "AWeber"),
    ("x-getresponse", "GetResponse"),
    ("x-mailerlite", "MailerLite"),
    ("x-convertkit", "ConvertKit"),
    ("x-cio-", "Customer.io"),
    ("x-customerio", "Customer.io"),
    ("x-iterable", "Iterable"),
    ("x-braze", "Braze"),
    ("x-sparkpost", "SparkPost"),
    ("x-rpcampaign", "Responsys"),
    ("x-lyris", "Lyris"),
    ("x-strongmail", "StrongMail"),
    ("x-ebay-mailtracker", "eBay"),
)
# Application notifications: a robot tells you what a person or system did somewhere else.
_NOTIFIER_PREFIXES = (
    ("x-github-", "GitHub"),
    ("x-gitlab-", "GitLab"),
    ("x-bitbucket", "Bitbucket"),
    ("x-linkedin-", "LinkedIn"),
    ("x-facebook-notify", "Facebook"),
    ("x-facebook", "Facebook"),
    ("x-twitter", "Twitter"),
    ("x-slack-", "Slack"),
    ("x-discourse-", "Discourse"),
    ("x-zendesk-", "Zendesk"),
    ("x-freshdesk", "Freshdesk"),
    ("rt-ticket", "Request Tracker"),
    ("rt-originator", "Request Tracker"),
    ("x-rt-loop-prevention", "Request Tracker"),
    ("x-otrs-", "OTRS"),
    ("x-helpscout-", "Help Scout"),
    ("x-jira-", "Jira"),
    ("x-atlassian-", "Atlassian"),
    ("x-confluence", "Atlassian"),
    ("x-trello", "Trello"),
    ("x-asana", "Asana"),
    ("x-redmine-", "Redmine"),
    ("x-bugzilla-", "Bugzilla"),
    ("x-launchpad-", "Launchpad"),
    ("x-phabricator-", "Phabricator"),
    ("x-gerrit-", "Gerrit"),
    ("x-jenkins-", "Jenkins"),
    ("x-wp-", "WordPress"),
    ("x-amazon-", "Amazon"),
    ("x-amzn-", "Amazon"),
    ("x-email-type-id", "PayPal"),
    ("x-stripe", "Stripe"),
    ("x-shopify", "Shopify"),
    ("x-airbnb", "Airbnb"),
    ("x-uber", "Uber"),
    ("x-nextdoor", "Nextdoor"),
    ("x-meetup-", "Meetup"),
    ("x-eventbrite", "Eventbrite"),
    ("x-docusign", "DocuSign"),
    ("x-rss-", "RSS feed"),
)
# Generic bulk markers, by prefix -> the phrase.
_BULK_PREFIXES = (
    ("x-campaign", "X-Campaign"),
    ("x-report-abuse", "X-Report-Abuse"),
    ("x-abuse-reports-to", "X-Report-Abuse"),
    ("x-csa-complaints", "X-CSA-Complaints"),
    ("x-complaints-to", "X-Complaints-To"),
    ("x-newsletter", "X-Newsletter"),
    ("x-mailer-recptid", "X-Campaign"),
    ("x-list-", "X-List headers"),
    ("x-listmember", "X-List headers"),
    ("x-listname", "X-List headers"),
    ("list-unsubscribe-post", "List-Unsubscribe"),
    ("x-unsubscribe", "List-Unsubscribe"),
)

_AUTO_REPLY_HEADERS = (
    "x-autogenerated", "x-auto-generated", "x-autoresponder", "x-autoresponse",
    "x-auto-reply", "x-autoreply-from", "x-mail-autoreply", "x-vacation",
    "x-ms-exchange-generated-message-source",
)

# Programs people write mail with. Only used to weigh the two ambiguous signs.
_HUMAN_CLIENT = re.compile(
    r"outlook|microsoft (office|windows live|mail)|windows (live )?mail|apple mail|"
    r"iphone mail|ipad mail|\bmail \(\d|thunderbird|icedove|seamonkey|mozilla|evolution|"
    r"kmail|mutt|alpine|pine|claws|sylpheed|roundcube|squirrelmail|horde|imp/|zimbra|"
    r"lotus notes|eudora|the bat|postbox|spark|airmail|mailspring|canary|superhuman|"
    r"yahoomail|aol webmail|amazon workmail|gnus|emacs|k-9|fairemail|geary|mailbird|"
    r"em client|foxmail|mailmate|gmail",
    re.IGNORECASE,
)

_BULK_MAILER = re.compile(
    r"phpmailer|mailchimp|mandrill|sendblaster|listmanager|lyris|group ?mail|atomic ?mail|"
    r"mailking|mach5|sendy|mailwizz|acymailing|mailpoet|interspire|oempro|phplist|"
    r"newsletter|e-?mail marketing|bulk|campaign|emarsys|strongmail|mailerlite|"
    r"constant ?contact|exacttarget|responsys|silverpop|cheetahmail|ezmlm|majordomo|"
    r"listserv|mailman|sympa|swiftmailer|symfony mailer|nodemailer|zend_mail|laminas|"
    r"pear mail|mime::lite|coldfusion|drupal|wordpress|vbulletin|phpbb|invision|"
    r"jenkins|redmine|bugzilla|jira|gitlab|cron|sendemail|aspmail|accucast|octeth|mailbeamer|"
    r"targetmail|emessaging",
    re.IGNORECASE,
)

_POSTMARK_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
                          re.IGNORECASE)

# --- senders -----------------------------------------------------------------------------

_NO_REPLY = re.compile(r"no[-_.]?reply|do[-_.]?not[-_.]?reply|dont[-_.]?reply|no[-_.]?response",
                       re.IGNORECASE)
# Local-part words that name a robot; "info", "contact", "sales", "office", "support" and
# the like are left alone: people answer those, and prospects write from them.
_ROBOT_WORDS = frozenset({
    "mailer-daemon", "mailerdaemon", "postmaster", "bounce", "bounces", "notification",
    "notifications", "notify", "notifier", "alert", "alerts", "newsletter", "newsletters",
    "news", "marketing", "digest", "updates", "automated", "automailer", "autoreply",
    "auto-reply", "autoresponder", "mailer", "daemon", "robot", "listserv", "majordomo",
    "nobody", "cron", "receipts", "receipt", "invoice", "invoices", "billing-noreply",
    "auto-confirm", "shipment-tracking", "order-update", "calendar-notification",
    "calendar-server", "promo", "promotions", "offers", "deals", "mailings", "mailing",
    "announce", "announcements", "system", "sysadmin", "info-noreply", "feedback-noreply",
    "messages-noreply", "unsubscribe", "reminders", "reminder", "statements", "statement",
    "dev-null", "devnull", "rss", "rssfeeds", "feeds",
})
_ROBOT_DOMAIN_LABELS = frozenset({
    "bounce", "bounces", "newsletter", "newsletters", "notification", "notifications",
    "notify", "alerts", "mailer", "marketing", "mkt", "promo", "promotions", "campaign",
    "campaigns", "txn", "transactional", "news", "e-news", "enews", "mailings",
})
# Bounce-handling domains of sending services (Return-Path, DKIM d=).
_SERVICE_DOMAINS = (
    ("sendgrid.net", "SendGrid"), ("sendgrid.info", "SendGrid"),
    ("mcsv.net", "Mailchimp"), ("mcdlv.net", "Mailchimp"), ("rsgsv.net", "Mailchimp"),
    ("mailchimpapp.net", "Mailchimp"), ("mandrillapp.com", "Mailchimp"),
    ("sparkpostmail.com", "SparkPost"), ("mtasv.net", "Postmark"),
    ("createsend.com", "Campaign Monitor"), ("cmail1.com", "Campaign Monitor"),
    ("cmail2.com", "Campaign Monitor"), ("cmail19.com", "Campaign Monitor"),
    ("cmail20.com", "Campaign Monitor"), ("exacttarget.com", "Salesforce Marketing Cloud"),
    ("hubspotemail.net", "HubSpot"), ("hubspotstarter.net", "HubSpot"),
    ("sendinblue.com", "Brevo"), ("brevo.com", "Brevo"), ("mailin.fr", "Brevo"),
    ("klaviyomail.com", "Klaviyo"), ("constantcontact.com", "Constant Contact"),
    ("ccsend.com", "Constant Contact"), ("mktomail.com", "Marketo"),
    ("mailjet.com", "Mailjet"), ("mjt.lu", "Mailjet"), ("icontact.com", "iContact"),
    ("aweber.com", "AWeber"), ("getresponse.com", "GetResponse"),
    ("mlsend.com", "MailerLite"), ("mailerlite.com", "MailerLite"),
    ("convertkit.com", "ConvertKit"), ("ckespa.com", "ConvertKit"),
    ("emarsys.net", "Emarsys"), ("rsys2.net", "Responsys"), ("rsys5.net", "Responsys"),
    ("customeriomail.com", "Customer.io"), ("mailgun.org", "Mailgun"),
    ("mailgun.net", "Mailgun"), ("amazonses.com", "Amazon SES"),
)
_AMBIGUOUS_SERVICES = frozenset({"Amazon SES"})

_BULK_RETURN_PATH = re.compile(
    r"(^|[._+=-])(bounces?|bnc|verp|fbl)([._+=-]|\d|$)|^owner-|-owner$|-request$",
    re.IGNORECASE,
)
_LIST_SENDER = re.compile(r"^owner-|-owner$|-bounces?$|-request$|^bounces?$", re.IGNORECASE)

# --- subjects and text ---------------------------------------------------------------------

_AUTO_REPLY_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|automatische antwort|"
    r"out of (the )?office|abwesenheitsnotiz|abwesenheit|r[ée]ponse automatique|"
    r"absence du bureau|respuesta autom[áa]tica|fuera de la oficina|risposta automatica|"
    r"fuori sede|automatisch antwoord|afwezigheidsmelding|resposta autom[áa]tica|"
    r"autosvar|automatiskt svar|on vacation|vacation reply|away from (the|my) office|"
    r"[aā]rpus biroja|autom[aā]tisk[aā] atbilde|automatyczna odpowied[źz]|"
    r"automatick[áa] odpov[ěe][ďd]|automaattinen vastaus|automatikus v[áa]lasz|"
    r"automatinis atsakymas|automaatvastus|otomatik yan[ıi]t|автоматический ответ)\b",
    re.IGNORECASE,
)
_CALENDAR_REPLY_SUBJECT = re.compile(
    r"^\s*(accepted|declined|tentatively accepted|tentative|new time proposed|"
    r"angenommen|abgelehnt|mit vorbehalt angenommen|accept[ée]|refus[ée])"
    r"( with note)?\s*:",
    re.IGNORECASE,
)
_BOUNCE_SUBJECT = re.compile(
    r"^\s*(undeliver(able|ed)|delivery (status notification|failure|has failed|failed|"
    r"notification|report|problem)|returned mail|mail delivery (failed|failure|system|"
    r"subsystem)|failure notice|non[- ]?delivery|message (not delivered|delivery failure)|"
    r"unzustellbar|nicht zustellbar|non remis|undelivered mail|warning: could not send|"
    r"delayed mail|mail system error|could not send message|returned to sender)",
    re.IGNORECASE,
)
class _CaseBlind:
    """A case-blind search of written text, with the same answer as the IGNORECASE
    pattern: on ASCII text, the pattern (all lower case, so no \\W or \\S) without
    IGNORECASE on the text lowered: 1.4 to 15 times faster on 2 KB of text (Python's
    case-blind alternations compare each character folded: these four took a third of a
    first sync's classifying); other text is searched case-blind, where lower() and
    re's folding can differ (İ, ſ, K)."""

    def __init__(self, pattern: str, flags: int) -> None:
        if pattern != pattern.lower() or not flags & re.IGNORECASE:
            raise ValueError("a lower-case, case-blind pattern")
        self.blind = re.compile(pattern, flags)
        self._lower = re.compile(pattern, flags & ~re.IGNORECASE)

    def search(self, text: str) -> bool:
        if text.isascii():
            return self._lower.search(text.lower()) is not None
        return self.blind.search(text) is not None


_UNSUBSCRIBE_TEXT = _CaseBlind(
    r"\bunsubscribe\b|\bopt[- ]?out\b|you (are|were) receiving this|you received this "
    r"(e-?mail|message|newsletter)|no longer (wish|want) to receive|manage (your )?"
    r"(e-?mail |subscription |notification )?(preferences|settings|subscriptions)|"
    r"update your (e-?mail )?preferences|view (it|this (e-?mail|message)) (in|on) "
    r"(your|a|the) (web )?browser|remove (yourself|me) from (this|our) (list|mailing)|"
    r"to be removed from (this|our|the) (list|mailing)|remov\w* from (this|our|the) "
    r"(mailing |e-?mail |distribution )?list|(mailing list|subscription|newsletter) "
    r"(options|preferences|settings)|abmelden|d[ée]sabonner|"
    r"d[ée]sinscri|darse de baja|afmelden",
    re.IGNORECASE,
)
_AUTOMATED_TEXT = _CaseBlind(
    r"this is an? (automated|automatic|auto-generated|automatically generated|system[- ]"
    r"generated|computer[- ]generated) (response|reply|message|e-?mail|notification|notice|"
    r"reminder)|this (e-?mail|message|notification) (was|has been|is) (automatically "
    r"generated|sent automatically|generated automatically|auto-generated|system generated)|"
    r"(please )?do not reply (directly )?to this (e-?mail|message|notification)|"
    r"this (mailbox|e-?mail address|address) is (not monitored|unattended)",
    re.IGNORECASE,
)
_CRON_SUBJECT = re.compile(r"^\s*(cron|anacron job) [<'\"]", re.IGNORECASE)
# Local parts a program made up: tracking ids, VERP tokens, long numbers mixed with words.
_GENERATED_LOCAL = re.compile(
    r"(?=[0-9a-z]*\d)(?=[0-9a-z]*[a-z])[0-9a-z]{16,}|\d+[.#]\d+[.#-]\d+", re.IGNORECASE)
_ENVELOPE_SCHEMES = re.compile(r"^(srs[01]|prvs|msprvs\d*|btv1)[=+]", re.IGNORECASE)
# Where the writer's own words end and quoted or forwarded text begins.
_QUOTE_START = re.compile(
    r"^\s*(-{2,}\s*(original message|forwarded message|weitergeleitete nachricht|"
    r"message d'origine|urspr[üu]ngliche nachricht)|on .{4,200}wrote:\s*$|"
    r"am .{4,200}schrieb.{0,80}:\s*$|le .{4,200}a [ée]crit\s*:\s*$|"
    r"begin forwarded message:|from:\s.+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class ProspectRules:
    """The user's own view of who can never be a prospect.

    `internal_domains`: the user's organisation (subdomains count);
    `not_clients`: addresses; `not_client_domains`: domains (subdomains count).
    Values are compared case-insensitively; a leading "@" on a domain is ignored.
    """

    internal_domains: frozenset[str] = frozenset()
    not_clients: frozenset[str] = frozenset()
    not_client_domains: frozenset[str] = frozenset()


def prospect_reason(facts: MessageFacts, rules: ProspectRules) -> tuple[bool, str]:
    """(True, "possible prospect: new human sender") or (False, "not a prospect: <why>").

    For a sender the caller already knows is not in the client directory.
    """
    sender = normalize_email(facts.from_addr)
    local, _, domain = sender.rpartition("@")
    if not local or not domain:
        return False, _NOT + "no sender address"
    if _in_domains(domain, rules.internal_domains):
        return False, _NOT + "your own organisation"
    if sender in {normalize_email(a) for a in rules.not_clients}:
        return False, _NOT + "on your not-a-client list"
    if _in_domains(domain, rules.not_client_domains):
        return False, _NOT + "domain on your not-a-client list"
    machine = machine_reason(facts)
    if machine:
        return False, _NOT + machine
    return True, PROSPECT


def machine_reason(facts: MessageFacts) -> str | None:
    """Why this message was made by a machine, a list, or a bulk or transactional
    service, as one phrase (see the module's list); None when a person seems to have
    written it to the user."""
    # A lazy view: the mail layer decodes a header only when a check reads it.
    headers: Mapping[str, str] = _Headers(dict(facts.auto_headers or {}),
                                          facts.headers or {})  # type: ignore[arg-type]
    for check in _CHECKS:
        reason = check(facts, headers)
        if reason:
            return reason
    return None


# --- the checks, in order: the strongest and most specific first -------------------------


def _rfc3834(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    return auto_generated_reason(headers)


def _lists(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    for name in _LIST_HEADERS:
        if name in headers:
            return "-".join(part.capitalize() for part in name.split("-"))
    for name, phrase in _OTHER_LIST_HEADERS.items():
        if name in headers:
            return phrase
    if headers.get("x-precedence", "").strip().lower() in {"bulk", "list", "junk", "auto_reply"}:
        return "X-Precedence"
    return None


def _reports(facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    ctype = headers.get("content-type", "").lower()
    if ctype.startswith("multipart/report"):
        if "disposition-notification" in ctype:
            return "read receipt"
        if "feedback-report" in ctype:
            return "abuse report (ARF)"
        return "bounce report" if "delivery-status" in ctype else "delivery report"
    if ctype.startswith("message/delivery-status") or "x-failed-recipients" in headers:
        return "bounce report"
    if ctype.startswith("message/feedback-report"):
        return "abuse report (ARF)"
    local = facts.from_addr.rpartition("@")[0].lower()
    if local in {"mailer-daemon", "postmaster", "mailerdaemon"} or _BOUNCE_SUBJECT.match(
            facts.subject):
        return "bounce report"
    return None


def _auto_replies(facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    if any(name in headers for name in _AUTO_REPLY_HEADERS):
        return "auto-reply"
    if _AUTO_REPLY_SUBJECT.match(facts.subject):
        return "auto-reply"
    if _CALENDAR_REPLY_SUBJECT.match(facts.subject):
        return "calendar reply"
    if "x-cron-env" in headers or _CRON_SUBJECT.match(facts.subject):
        return "cron job output"
    return None


def _services(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    # (str.startswith with a tuple first: one C call per header for the usual no)
    for name in headers:
        service = _SERVICE_EXACT.get(name)
        if service is None and name.startswith(_SERVICE_STARTS):
            service = next((s for p, s in _SERVICE_PREFIXES if name.startswith(p)), None)
        if service is not None:
            return f"mailing service ({service})"
    pm_id = headers.get("x-pm-message-id", "").strip()
    if _POSTMARK_ID.match(pm_id) and "x-pm-origin" not in headers:  # Proton uses x-pm-* too
        return "mailing service (Postmark)"
    for name in headers:
        if name.startswith(_NOTIFIER_STARTS):
            notifier = next((s for p, s in _NOTIFIER_PREFIXES if name.startswith(p)), None)
            if notifier is not None:
                return f"notification service ({notifier})"
    for name in headers:
        if name.startswith(_BULK_STARTS):
            phrase = next((s for p, s in _BULK_PREFIXES if name.startswith(p)), None)
            if phrase is not None:
                return phrase
    return None


_SERVICE_STARTS = tuple(p for p, _s in _SERVICE_PREFIXES)
_NOTIFIER_STARTS = tuple(p for p, _s in _NOTIFIER_PREFIXES)
_BULK_STARTS = tuple(p for p, _s in _BULK_PREFIXES)


class _Headers(ChainMap[str, str]):
    """The decoded auto-generated headers before the message's others (a ChainMap), its
    names listed once however often the checks go through them (ChainMap lists them
    afresh each time: a sixth of a first sync's classifying)."""

    _names: list[str] | None = None

    def __iter__(self) -> Iterator[str]:
        if self._names is None:
            self._names = list(super().__iter__())
        return iter(self._names)


def _human_client(headers: Mapping[str, str]) -> bool:
    program = f"{headers.get('x-mailer', '')} {headers.get('user-agent', '')}"
    return bool(_HUMAN_CLIENT.search(program))


def _bulk_transport(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    program = f"{headers.get('x-mailer', '')} {headers.get('user-agent', '')}".strip()
    if program and _BULK_MAILER.search(program) and not _HUMAN_CLIENT.search(program):
        return f"bulk mailer (X-Mailer: {program[:40]})"
    human = _human_client(headers)
    if "feedback-id" in headers and not human:
        return "Feedback-ID (bulk sender)"
    if "x-ses-outgoing" in headers and not human:
        return "mailing service (Amazon SES)"
    return None


def _sender_address(facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    reason = _robot_address(facts.from_addr)
    if reason:
        return reason
    sender = _address_in(headers.get("sender", ""))
    if sender and sender != facts.from_addr.lower() and _LIST_SENDER.search(
            sender.rpartition("@")[0]):
        return "mailing-list Sender"
    return None


def no_reply_sender(address: str) -> bool:
    """noreply@, do-not-reply@ and the like: nobody reads what is sent back."""
    return bool(_NO_REPLY.search(address.lower().rpartition("@")[0]))


def _robot_address(address: str) -> str | None:
    local, _, domain = address.lower().rpartition("@")
    if not local:
        return None
    if _NO_REPLY.search(local):
        return "no-reply sender"
    base = local.split("+", 1)[0]
    if not base.isdigit() and _GENERATED_LOCAL.search(base) and not _ENVELOPE_SCHEMES.match(
            local):
        return "machine-generated sender address"
    words = {base, *re.split(r"[._=+-]+", base)}
    words |= {w.rstrip("0123456789") for w in list(words)}
    robot = next((w for w in sorted(words) if w in _ROBOT_WORDS), None)
    if robot:
        return f"automated sender ({base}@)"
    labels = domain.split(".")
    if len(labels) > 2 and labels[0] in _ROBOT_DOMAIN_LABELS:
        return f"automated sender domain ({domain})"
    return None


def _envelope(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    human = _human_client(headers)
    dkim = re.search(r"\bd=([A-Za-z0-9.-]+)", headers.get("dkim-signature", ""))
    return_path = _address_in(headers.get("return-path", ""))
    for domain in (return_path.rpartition("@")[2], dkim.group(1).lower() if dkim else ""):
        if not domain:
            continue
        service = next((s for d, s in _SERVICE_DOMAINS
                        if domain == d or domain.endswith("." + d)), None)
        if service and not (service in _AMBIGUOUS_SERVICES and human):
            return f"mailing service ({service})"
    if return_path and (_BULK_RETURN_PATH.search(return_path.rpartition("@")[0])
                        or _robot_address(return_path)):
        return "bulk Return-Path"
    return None


def _spam(_facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    if headers.get("x-spam-flag", "").strip().lower() == "yes":
        return "marked as spam (X-Spam-Flag)"
    return None


def _text(facts: MessageFacts, _headers: Mapping[str, str]) -> str | None:
    words = own_words(facts.body_text or facts.preview)
    if _AUTOMATED_TEXT.search(words):
        return "automated text"
    if _UNSUBSCRIBE_TEXT.search(words):
        return "unsubscribe footer"
    return None


@functools.lru_cache(maxsize=16)   # asked up to six times of one message by the checks
def own_words(body: str) -> str:
    """The writer's own text: lines before the first quoted or forwarded part."""
    lines: list[str] = []
    for line in body.splitlines():
        if _QUOTE_START.match(line):
            break
        if not line.lstrip().startswith(">"):
            lines.append(line)
    return "\n".join(lines)


def _address_in(value: str) -> str:
    match = re.search(r"[^\s<>\"',;:]+@[^\s<>\"',;:]+", value)
    return match.group(0).lower().rstrip(".") if match else ""


def _in_domains(domain: str, domains: frozenset[str]) -> bool:
    domain = normalize_domain(domain)
    for entry in domains:
        wanted = normalize_domain(entry)
        if wanted and (domain == wanted or domain.endswith("." + wanted)):
            return True
    return False



# --- made by a machine, beyond doubt -------------------------------------------------------
#
# machine_reason above casts a wide net: for a stranger, missing a prospect costs less than
# a robot in the waiting list. A client's own address is different: whatever it sends is
# taken for the client unless a sign below says no person wrote it. These signs are never
# seen on mail a person writes to the user: mail systems, auto-responders and list servers
# make them. The rest of machine_reason's signs make a client's message "unsure" instead
# (counted, shown, never answered by the autopilot): see heard.domain.classify.

# Local parts of the mail system itself (RFC 5321 postmaster, MTAs' daemons, NDR senders,
# list servers), beside no-reply and the list robots of _LIST_SENDER.
_MAIL_SYSTEM = frozenset({
    "mailer-daemon", "mailerdaemon", "mailer_daemon", "postmaster", "mdaemon",
    "mail.delivery.system", "mail-delivery-system", "maildeliverysystem", "ndr",
    "listserv", "majordomo", "sympa", "ezmlm", "mailman",
})
_MAIL_SYSTEM_NAME = re.compile(
    r"^\W*(mail delivery (sub)?system|mail delivery service|delivery subsystem|"
    r"mailer[- ]daemon|postmaster|mail administrator|internet mail delivery)\W*$",
    re.IGNORECASE,
)
# Where only robots write: a list's bounce and command addresses, VERP return addresses.
_ROBOT_RECIPIENT = re.compile(
    r"-bounces?([+=-]|$)|^bounces?([+=-]|$)|-request$|^mailer-daemon$", re.IGNORECASE)
# An auto-responder's subject: "<phrase>: <the subject it answers>". Phrases nobody puts at
# the head of their own subject may follow a few words ("Out of Office AutoReply:", Exchange
# 2003 in Latvian "Arpus biroja atrasanas automatiska atbilde:"); ordinary words ("Out of
# office: back Monday") only count when they are the whole head, as Exchange writes them.
_AUTO_REPLY_PREFIX = re.compile(
    r"^\s*(?:[^:\n]{0,40}\s)?(automatic reply|auto[- ]?reply|autoreply|auto[- ]?response|"
    r"automatische antwort|r[ée]ponse automatique|respuesta autom[áa]tica|"
    r"risposta automatica|automatisch antwoord|resposta autom[áa]tica|automatiskt svar|"
    r"autosvar|abwesenheitsnotiz|autom[aā]tisk[aā] atbilde|automatyczna odpowied[źz]|"
    r"automatick[áa] odpov[ěe][ďd]|automaattinen vastaus|automatikus v[áa]lasz|"
    r"automatinis atsakymas|automaatvastus|otomatik yan[ıi]t|автоматический ответ)\s*:|"
    r"^\s*(out of (the )?office|abwesenheit|absence du bureau|fuera de la oficina|"
    r"fuori sede|afwezigheidsmelding|on vacation|vacation reply|[aā]rpus biroja)\s*:",
    re.IGNORECASE,
)
# What auto-responders say of themselves, in the writer's own words (not in a quote).
_AUTO_REPLY_TEXT = _CaseBlind(
    r"this is an? (automated|automatic|auto-generated|automatically generated|system[- ]"
    r"generated|computer[- ]generated) (response|reply|message|e-?mail|notification|notice)|"
    r"this (e-?mail|message|notification) (was|has been|is) (automatically generated|sent "
    r"automatically|generated automatically|auto-generated|system generated)",
    re.IGNORECASE,
)
# What mail systems write in a non-delivery or delay report, word for word (Postfix, Exim,
# qmail, sendmail, Exchange); looser wording ("the message could not be delivered") is what
# a person writes too, when telling of a bounce.
_BOUNCE_TEXT = _CaseBlind(
    r"this is the mail system at host|this message was created automatically by mail "
    r"delivery software|hi\. this is the qmail-send program|i'm sorry to have to inform you "
    r"that your message could not be delivered|the following addresses had permanent fatal "
    r"errors|-{3,} ?transcript of session follows ?-{3,}|your message did not reach some or "
    r"all of the intended recipients|delivery has failed to these recipients or (groups|"
    r"distribution lists)",
    re.IGNORECASE,
)


def robot_reason(facts: MessageFacts) -> str | None:
    """Why a machine made this message, where no person could have (a bounce, a report, an
    auto-reply, the mail system's own address), as one phrase; None otherwise. Asked of
    every sender, known or not, before the client directory."""
    headers: Mapping[str, str] = _Headers(dict(facts.auto_headers or {}),
                                          facts.headers or {})  # type: ignore[arg-type]
    for check in _ROBOT_CHECKS:
        reason = check(facts, headers)
        if reason:
            return reason
    return None


def _sure_reports(facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    ctype = headers.get("content-type", "").lower()
    if ctype.startswith(("multipart/report", "message/delivery-status",
                         "message/feedback-report")) or "x-failed-recipients" in headers:
        return _reports(facts, headers)
    if _BOUNCE_TEXT.search(own_words(facts.body_text or facts.preview)):
        return "bounce report"
    return None


def _sure_auto_replies(facts: MessageFacts, headers: Mapping[str, str]) -> str | None:
    if any(name in headers for name in _AUTO_REPLY_HEADERS):
        return "auto-reply"
    if _AUTO_REPLY_PREFIX.match(facts.subject):
        return "auto-reply"
    if _AUTO_REPLY_TEXT.search(own_words(facts.body_text or facts.preview)):
        return "auto-reply"
    return None


def _sure_sender(facts: MessageFacts, _headers: Mapping[str, str]) -> str | None:
    local = facts.from_addr.lower().rpartition("@")[0]
    if _NO_REPLY.search(local):
        return "no-reply sender"
    if local in _MAIL_SYSTEM or _LIST_SENDER.search(local):
        return f"mail system sender ({local}@)"
    if _MAIL_SYSTEM_NAME.match(facts.from_name):
        return f"mail system sender ({facts.from_name})"
    return None


def _sure_recipient(facts: MessageFacts, _headers: Mapping[str, str]) -> str | None:
    # Only a robot answers the envelope sender: people reply to From.
    for address in facts.to:
        if _ROBOT_RECIPIENT.search(address.lower().rpartition("@")[0]):
            return f"sent to a bounce address ({address})"
    return None


_ROBOT_CHECKS = (_rfc3834, _sure_reports, _sure_auto_replies, _sure_sender, _sure_recipient)
# The wide net holds the sure signs too (after its own, whose phrases come first).
_CHECKS = (
    _rfc3834, _lists, _reports, _auto_replies, _services, _bulk_transport,
    _sender_address, _envelope, _spam, _text, *_ROBOT_CHECKS[1:],
)
