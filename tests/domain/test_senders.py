"""Who wrote it, a person or a machine; and is an unknown person a prospect?

The samples carry the headers real senders put on their mail (mail clients, ESPs,
notification services, list servers, MTAs); names and addresses are made up.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heard.domain.messages import MessageFacts
from heard.domain.senders import (
    PROSPECT,
    ProspectRules,
    machine_reason,
    prospect_reason,
    robot_reason,
)
from heard.mail.parse import parse_message

NO_RULES = ProspectRules()


def msg(headers: str, body: str = "Hello,\n\nCould we talk about my case this week?\n\nAnna\n"
        ) -> MessageFacts:
    head = headers.strip("\n")
    if "\nDate:" not in f"\n{head}":
        head += "\nDate: Tue, 3 Mar 2026 09:14:00 +0100"
    if "\nMessage-ID:" not in f"\n{head}":
        head += "\nMessage-ID: <sample@example.test>"
    return parse_message(f"{head}\n\n{body}".replace("\n", "\r\n").encode())


def verdict(headers: str, body: str | None = None, rules: ProspectRules = NO_RULES
            ) -> tuple[bool, str]:
    facts = msg(headers) if body is None else msg(headers, body)
    return prospect_reason(facts, rules)


# --- people ------------------------------------------------------------------------------

GMAIL = """\
From: Anna Berg <anna.berg@gmail.com>
To: alex@morgan-law.example
Subject: Question about a lease dispute
MIME-Version: 1.0
DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=gmail.com; s=20230601; h=to:subject
X-Gm-Message-State: AOJu0YwQ4
X-Google-Smtp-Source: AGHT+IE
Return-Path: <anna.berg@gmail.com>
Content-Type: text/plain; charset="UTF-8"
"""
OUTLOOK = """\
From: "Ortiz, Daniel" <d.ortiz@ortiz-partners.example>
To: "alex@morgan-law.example" <alex@morgan-law.example>
Subject: Referral from Jane Roe
Thread-Topic: Referral from Jane Roe
Thread-Index: AQHZoXzYm8YpUCUtTUGHRFEeKbgDbg==
Accept-Language: en-US
X-MS-Has-Attach:
X-MS-TNEF-Correlator:
X-MS-Exchange-Organization-SCL: -1
X-Originating-IP: [203.0.113.7]
Content-Language: en-US
X-Mailer: Microsoft Outlook 16.0
Return-Path: d.ortiz@ortiz-partners.example
Content-Type: text/plain; charset="us-ascii"
"""
APPLE_MAIL = """\
From: Chen Wei <chen@wei-design.example>
Content-Type: text/plain; charset=us-ascii
Mime-Version: 1.0 (Mac OS X Mail 16.0 \\(3731.500.231\\))
Subject: Contract for a new studio
X-Mailer: Apple Mail (2.3731.500.231)
To: alex@morgan-law.example
"""
IPHONE = """\
From: Chen Wei <chen@wei-design.example>
Subject: Re: Contract for a new studio
X-Mailer: iPhone Mail (21D61)
In-Reply-To: <a1@morgan-law.example>
To: alex@morgan-law.example
"""
THUNDERBIRD_REPLY = """\
From: Piotr Nowak <piotr@nowak.example>
User-Agent: Mozilla Thunderbird
Subject: Re: Engagement letter
In-Reply-To: <b2@morgan-law.example>
References: <b1@morgan-law.example> <b2@morgan-law.example>
Content-Language: en-GB
To: Alex Morgan <alex@morgan-law.example>
"""
THUNDERBIRD_BODY = """\
Thanks, that works for me.

On 02/03/2026 17:10, Alex Morgan wrote:
> You can unsubscribe from the newsletter at any time.
"""
OUTLOOK_QUOTING_A_NEWSLETTER = """\
Can you look at this offer before I sign?

________________________________
From: Deals <deals@shop.example>
Sent: Monday, March 2, 2026 10:00
Subject: Your exclusive offer

To unsubscribe click here.
"""
WORKMAIL = """\
From: Sam Reed <sam@reed-consulting.example>
To: alex@morgan-law.example
Subject: Need advice on a non-compete
X-Mailer: Amazon WorkMail
X-SES-Outgoing: 2026.03.03-54.240.8.1
Feedback-ID: 1.us-east-1.abcdefgh=:AmazonSES
Return-Path: <0100018e0a7b-aaaa@amazonses.com>
"""
PROTON = """\
From: Lena Vogt <lena.vogt@proton.me>
To: alex@morgan-law.example
Subject: Erbschaft
X-Pm-Message-ID: qR5ZkYxw3Jd8nM2==
X-Pm-Origin: external
X-Pm-Spamscore: 0
"""
CALENDAR_INVITE = """\
From: Maria Lopez <maria@lopez-imports.example>
Sender: Google Calendar <calendar-notification@google.com>
Reply-To: Maria Lopez <maria@lopez-imports.example>
To: alex@morgan-law.example
Subject: Invitation: Intro call - import licence @ Thu 5 Mar 2026 10am - 10:30am (CET)
Content-Type: text/plain; charset="UTF-8"
"""
READ_RECEIPT_REQUESTED = """\
From: "Ivette" <reservas@hotel-example.test>
To: alex@morgan-law.example
Subject: Booking contract
X-Mailer: Microsoft Office Outlook, Build 11.0.5510
Disposition-Notification-To: "Ivette" <reservas@hotel-example.test>
"""


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        (GMAIL, None),
        (OUTLOOK, None),
        (APPLE_MAIL, None),
        (IPHONE, None),
        (THUNDERBIRD_REPLY, THUNDERBIRD_BODY),
        (OUTLOOK, OUTLOOK_QUOTING_A_NEWSLETTER),
        (WORKMAIL, None),
        (PROTON, None),
        (CALENDAR_INVITE, None),
        (READ_RECEIPT_REQUESTED, None),
    ],
    ids=["gmail", "outlook", "apple-mail", "iphone", "thunderbird-quoting-unsubscribe",
         "outlook-forwarding-a-newsletter", "amazon-workmail", "proton", "calendar-invite",
         "asks-read-receipt"],
)
def test_people_writing_with_their_mail_programs_are_possible_prospects(
        headers: str, body: str | None) -> None:
    assert verdict(headers, body) == (True, PROSPECT)


# --- machines ------------------------------------------------------------------------------

MAILCHIMP = """\
From: Corner Bakery <hello@cornerbakery.example>
To: alex@morgan-law.example
Subject: Fresh bread this weekend
X-Mailer: Mailchimp Mailer - **CIDa8d0ad03b7be24ad69fc**
X-Campaign: mailchimpb00ccdbb39a8456492b99ae9e.a8d0ad03b7
X-MC-User: b00ccdbb39a8456492b99ae9e
Feedback-ID: 153975342:153975342.8987958:us1:mc
"""
MAILCHIMP_LISTED = MAILCHIMP + "List-Unsubscribe: <https://x.us1.list-manage.com/unsubscribe>\n"
SENDGRID = """\
From: Acme Software <news@acme.example>
To: alex@morgan-law.example
Subject: What's new in March
X-SG-EID: t4QV6yLX3nu34cQBGT26jXiPqdc4fy
X-Entity-ID: lQ7LGJQkA+/gASIFOCIx0Q==
"""
KLAVIYO = """\
From: Katjes | Online-Shop <shop@katjes.example>
To: alex@morgan-law.example
Subject: Infos zu Katjes
X-Kmail-Relay: [1742165.krelaymail.com]:587
X-Kmail-Account: TXS8dR
"""
BREVO = """\
From: "Trusted Shops" <willkommen@email.trustedshops.example>
To: alex@morgan-law.example
Subject: Bewertungen
X-Mailin-EID: OTYyMTA1Mzh
X-sib-id: OuuTDMOgyILaB
X-CSA-Complaints: whitelist-complaints@eco.de
"""
CONSTANT_CONTACT = """\
From: Bar Association <events@bar-assoc.example>
To: alex@morgan-law.example
Subject: Spring CLE schedule
X-Roving-Id: 1234567890.0987
X-Roving-Campaignid: 1130123456789
"""
MAILGUN = """\
From: Invoices <billing@saas.example>
To: alex@morgan-law.example
Subject: Your invoice for March
X-Mailgun-Sid: WyJiZTJlZiIsICJhbGV4QG1vcmdhbi1sYXcuZXhhbXBsZSJd
"""
POSTMARK = """\
From: Acme Support <support@acme.example>
To: alex@morgan-law.example
Subject: Your ticket was updated
X-PM-Message-Id: 5b0c9a46-0f5c-4d3e-9b2e-2b7b8a7c2d11
"""
SPARKPOST = """\
From: Travel Co <deals@travel.example>
To: alex@morgan-law.example
Subject: Flights to Lisbon
X-MSFBL: eyJyIjoiYWxleEBtb3JnYW4tbGF3LmV4YW1wbGUifQ==
"""
SES_TRANSACTIONAL = """\
From: Shop <orders@shop.example>
To: alex@morgan-law.example
Subject: Your order has shipped
X-SES-Outgoing: 2026.03.03-54.240.8.1
"""
GOOGLE_FEEDBACK_ID = """\
From: Weekly Digest <digest-team@saas.example>
To: alex@morgan-law.example
Subject: This week
Feedback-ID: 12345:campaign:saas:google
"""
STRIPE_RECEIPT = """\
From: Acme Inc <receipts+acct_1Mabc@stripe.com>
To: alex@morgan-law.example
Subject: Your receipt from Acme Inc #1234-5678
"""
PAYPAL = """\
From: "service@paypal.example" <service@paypal.example>
To: alex@morgan-law.example
Subject: You sent a payment
X-Email-Type-Id: PPX000705
"""
AMAZON_ORDER = """\
From: "Amazon.com" <auto-confirm@amazon.com>
To: alex@morgan-law.example
Subject: Your Amazon.com order #112-1234567-1234567
"""
GITHUB = """\
From: Octo Cat <notifications@github.com>
Reply-To: heard/heard <reply+ABC123@reply.github.com>
To: heard/heard <heard@noreply.github.com>
Subject: Re: [heard/heard] Prospects (Issue #12)
X-GitHub-Reason: subscribed
X-GitHub-Sender: octocat
"""
LINKEDIN = """\
From: Jan Kowalski via LinkedIn <messaging-digest-noreply@linkedin.com>
To: alex@morgan-law.example
Subject: Jan sent you a message
X-LinkedIn-Class: INMAIL
X-LinkedIn-Template: email_member_message
"""
SLACK = """\
From: Slack <notification@slack.com>
To: alex@morgan-law.example
Subject: [Slack] New message from Kim in #general
"""
GOOGLE_CALENDAR_REMINDER = """\
From: Google Calendar <calendar-notification@google.com>
To: alex@morgan-law.example
Subject: Notification: Deposition @ Thu 5 Mar 2026 2pm - 3pm (CET)
"""
CALENDAR_ACCEPTED = """\
From: Maria Lopez <maria@lopez-imports.example>
To: alex@morgan-law.example
Subject: Accepted: Intro call @ Thu 5 Mar 2026 10am - 10:30am (CET)
Content-Type: text/calendar; method=REPLY; charset="UTF-8"
"""
MAILMAN = """\
From: Kim Lee <kim@lee.example>
To: bar-members@lists.bar-assoc.example
Subject: [bar-members] Parking at the courthouse
List-Id: Bar members <bar-members.lists.bar-assoc.example>
X-BeenThere: bar-members@lists.bar-assoc.example
Precedence: list
"""
MAILMAN_STRIPPED = """\
From: Kim Lee <kim@lee.example>
To: bar-members@lists.bar-assoc.example
Subject: [bar-members] Parking at the courthouse
X-BeenThere: bar-members@lists.bar-assoc.example
X-Mailman-Version: 2.1.39
"""
GOOGLE_GROUPS = """\
From: Kim Lee <kim@lee.example>
To: litigators@googlegroups.com
Subject: Expert witness recommendations
Mailing-list: list litigators@googlegroups.com; contact litigators+owners@googlegroups.com
X-Google-Group-Id: 123456789012
List-Help: <https://support.google.com/a/users/answer/9308783>
"""
POSTFIX_DSN = """\
From: MAILER-DAEMON@mail.morgan-law.example (Mail Delivery System)
To: alex@morgan-law.example
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary="B1"
"""
POSTFIX_DSN_BODY = """\
--B1
Content-Type: text/plain

I'm sorry to have to inform you that your message could not be delivered.
--B1
Content-Type: message/delivery-status

Reporting-MTA: dns; mail.morgan-law.example
--B1--
"""
EXCHANGE_NDR = """\
From: Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@contoso.example>
To: alex@morgan-law.example
Subject: Undeliverable: Engagement letter
X-MS-Exchange-Message-Is-Ndr:
"""
READ_RECEIPT = """\
From: Piotr Nowak <piotr@nowak.example>
To: alex@morgan-law.example
Subject: Read: Engagement letter
Content-Type: multipart/report; report-type=disposition-notification; boundary="B2"
"""
OUTLOOK_OOO = """\
From: "Ortiz, Daniel" <d.ortiz@ortiz-partners.example>
To: alex@morgan-law.example
Subject: Automatic reply: Referral from Jane Roe
X-Mailer: Microsoft Outlook 16.0
"""
OUTLOOK_OOO_FULL = OUTLOOK_OOO + "Auto-Submitted: auto-generated\nX-Auto-Response-Suppress: All\n"
GMAIL_VACATION = """\
From: Anna Berg <anna.berg@gmail.com>
To: alex@morgan-law.example
Subject: Out of office
Auto-Submitted: auto-replied
"""
VACATION_BY_TEXT = """\
From: Hauns Froehlingsdorf <hauns@infinetivity.example>
To: alex@morgan-law.example
Subject: Re: your message
"""
CRON = """\
From: root@server.morgan-law.example (Cron Daemon)
To: alex@morgan-law.example
Subject: Cron <alex@server> /usr/local/bin/backup
X-Cron-Env: <SHELL=/bin/sh>
"""
NEWSLETTER_FOOTER = """\
From: Michael Robertson <michael@linspire.example>
To: alex@morgan-law.example
Subject: Michael's Minute: Report Card
"""
BULK_RETURN_PATH = """\
From: Jeff B <jeff@shop.example>
To: alex@morgan-law.example
Subject: Try our new apparel store
Return-Path: <ems+P8T5PED6GPLZ4A@bounces.shop.example>
"""
SPAM_FLAGGED = """\
From: Prize Office <winner@lottery.example>
To: alex@morgan-law.example
Subject: You won
X-Spam-Flag: YES
"""
ESP_RETURN_PATH = """\
From: Corner Bakery <hello@cornerbakery.example>
To: alex@morgan-law.example
Subject: Weekend hours
Return-Path: <bounce-mc.us5_1234.5678-alex=morgan-law.example@mail12.atl91.mcsv.net>
"""
TRACKING_LOCAL_PART = """\
From: Daily Comic <2.20290.44-t9bsgc0tYwDu.1@ummail4.comics.example>
To: alex@morgan-law.example
Subject: Your daily comic
"""


@pytest.mark.parametrize(
    ("headers", "body", "reason"),
    [
        (MAILCHIMP, None, "mailing service (Mailchimp)"),
        (MAILCHIMP_LISTED, None, "List-Unsubscribe"),
        (SENDGRID, None, "mailing service (SendGrid)"),
        (KLAVIYO, None, "mailing service (Klaviyo)"),
        (BREVO, None, "mailing service (Brevo)"),
        (CONSTANT_CONTACT, None, "mailing service (Constant Contact)"),
        (MAILGUN, None, "mailing service (Mailgun)"),
        (POSTMARK, None, "mailing service (Postmark)"),
        (SPARKPOST, None, "mailing service (SparkPost)"),
        (SES_TRANSACTIONAL, None, "mailing service (Amazon SES)"),
        (GOOGLE_FEEDBACK_ID, None, "Feedback-ID (bulk sender)"),
        (ESP_RETURN_PATH, None, "mailing service (Mailchimp)"),
        (STRIPE_RECEIPT, None, "automated sender (receipts@)"),
        (PAYPAL, None, "notification service (PayPal)"),
        (AMAZON_ORDER, None, "automated sender (auto-confirm@)"),
        (GITHUB, None, "notification service (GitHub)"),
        (LINKEDIN, None, "notification service (LinkedIn)"),
        (SLACK, None, "automated sender (notification@)"),
        (GOOGLE_CALENDAR_REMINDER, None, "automated sender (calendar-notification@)"),
        (CALENDAR_ACCEPTED, None, "calendar reply"),
        (MAILMAN, None, "Precedence"),
        (MAILMAN_STRIPPED, None, "X-BeenThere (Mailman)"),
        (GOOGLE_GROUPS, None, "List-Help"),
        (POSTFIX_DSN, POSTFIX_DSN_BODY, "bounce report"),
        (EXCHANGE_NDR, None, "bounce report"),
        (READ_RECEIPT, "--B2--\n", "read receipt"),
        (OUTLOOK_OOO, None, "auto-reply"),
        (OUTLOOK_OOO_FULL, None, "Auto-Submitted"),
        (GMAIL_VACATION, None, "Auto-Submitted"),
        (VACATION_BY_TEXT, "This is an automated response to a message you have sent.\n"
         "I will be out of the office until Monday.\n", "automated text"),
        (CRON, "backup done\n", "cron job output"),
        (NEWSLETTER_FOOTER, "This week we shipped...\n\nTo change your mailing list options "
         "please go to www.linspire.example/user\n", "unsubscribe footer"),
        (BULK_RETURN_PATH, None, "bulk Return-Path"),
        (SPAM_FLAGGED, None, "marked as spam (X-Spam-Flag)"),
        (TRACKING_LOCAL_PART, None, "machine-generated sender address"),
    ],
    ids=lambda value: value.splitlines()[0][:40] if isinstance(value, str) else None,
)
def test_machine_mail_says_which_sign_gave_it_away(
        headers: str, body: str | None, reason: str) -> None:
    facts = msg(headers) if body is None else msg(headers, body)
    assert machine_reason(facts) == reason
    assert prospect_reason(facts, NO_RULES) == (False, f"not a prospect: {reason}")


@pytest.mark.parametrize(
    ("local", "reason"),
    [
        ("noreply", "no-reply sender"),
        ("no-reply", "no-reply sender"),
        ("no_reply+1234", "no-reply sender"),
        ("donotreply", "no-reply sender"),
        ("do-not-reply", "no-reply sender"),
        ("account-security-noreply", "no-reply sender"),
        ("bounces+123-abc=morgan-law.example", "automated sender (bounces@)"),
        ("newsletter", "automated sender (newsletter@)"),
        ("news", "automated sender (news@)"),
        ("marketing", "automated sender (marketing@)"),
        ("alerts", "automated sender (alerts@)"),
        ("digest", "automated sender (digest@)"),
        ("updates", "automated sender (updates@)"),
        ("notifications", "automated sender (notifications@)"),
        ("automated", "automated sender (automated@)"),
        ("postmaster", "bounce report"),
        ("mailer-daemon", "bounce report"),
    ],
)
def test_robot_addresses(local: str, reason: str) -> None:
    facts = msg(f"From: Sender <{local}@example.test>\nTo: alex@morgan-law.example\nSubject: Hi")
    assert machine_reason(facts) == reason


@pytest.mark.parametrize("local", ["info", "contact", "office", "sales", "hello", "jane.doe",
                                   "j.smith1985", "12345678", "jason-exp-1031164464.7f11b3"])
def test_addresses_people_write_from_are_not_robots(local: str) -> None:
    facts = msg(f"From: Someone <{local}@smallfirm.example>\nTo: alex@morgan-law.example\n"
                "Subject: Quote for a contract review")
    assert machine_reason(facts) is None


def test_robot_subdomains_count_but_mail_subdomains_do_not() -> None:
    news = msg("From: Firm News <editor@news.bigfirm.example>\nTo: a@b.example\nSubject: x")
    assert machine_reason(news) == "automated sender domain (news.bigfirm.example)"
    student = msg("From: Jo <jo@mail.university.example>\nTo: a@b.example\nSubject: x")
    assert machine_reason(student) is None


# --- the user's own rules ------------------------------------------------------------------


def test_own_organisation_and_subdomains_are_never_prospects() -> None:
    rules = ProspectRules(internal_domains=frozenset({"@Morgan-Law.example"}))
    colleague = "From: Kim <kim@morgan-law.example>\nTo: alex@morgan-law.example\nSubject: x"
    branch = "From: Kim <kim@berlin.morgan-law.example>\nTo: alex@morgan-law.example\nSubject: x"
    lookalike = "From: Kim <kim@notmorgan-law.example>\nTo: alex@morgan-law.example\nSubject: x"
    assert verdict(colleague, rules=rules) == (False, "not a prospect: your own organisation")
    assert verdict(branch, rules=rules) == (False, "not a prospect: your own organisation")
    assert verdict(lookalike, rules=rules) == (True, PROSPECT)


def test_not_a_client_list_by_address_and_by_domain() -> None:
    rules = ProspectRules(not_clients=frozenset({"Anna.Berg@gmail.com"}),
                          not_client_domains=frozenset({"opposing-counsel.example"}))
    assert verdict(GMAIL, rules=rules) == (False, "not a prospect: on your not-a-client list")
    counsel = "From: R <r@ny.opposing-counsel.example>\nTo: alex@morgan-law.example\nSubject: x"
    assert verdict(counsel, rules=rules) == (
        False, "not a prospect: domain on your not-a-client list")
    assert verdict(OUTLOOK, rules=rules) == (True, PROSPECT)


def test_the_users_rules_come_before_the_machine_signs() -> None:
    rules = ProspectRules(internal_domains=frozenset({"morgan-law.example"}))
    own_list = MAILMAN.replace("kim@lee.example", "kim@morgan-law.example")
    assert verdict(own_list, rules=rules) == (False, "not a prospect: your own organisation")


def test_no_sender_address_is_not_a_prospect() -> None:
    facts = MessageFacts(message_id="", from_addr="", from_name="", to=(), subject="",
                         date=None)
    assert prospect_reason(facts, NO_RULES) == (False, "not a prospect: no sender address")


def test_headers_only_in_auto_headers_are_read_too() -> None:
    facts = MessageFacts(message_id="<1@x>", from_addr="a@b.example", from_name="", to=(),
                         subject="s", date=None, auto_headers={"list-id": "<l.x>"})
    assert machine_reason(facts) == "List-Id"


# --- robustness ------------------------------------------------------------------------------

_NAMES = st.sampled_from([
    "list-id", "precedence", "x-mailer", "user-agent", "content-type", "return-path",
    "sender", "dkim-signature", "feedback-id", "x-pm-message-id", "x-ses-outgoing",
    "x-spam-flag", "x-mc-user", "auto-submitted", "x-cron-env",
]) | st.text(min_size=1, max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    headers=st.dictionaries(_NAMES, st.text(max_size=200), max_size=12),
    from_addr=st.text(max_size=60),
    subject=st.text(max_size=120),
    body=st.text(max_size=500),
)
def test_never_raises_on_arbitrary_headers(headers: dict[str, str], from_addr: str,
                                           subject: str, body: str) -> None:
    facts = MessageFacts(message_id="<1@x>", from_addr=from_addr, from_name="", to=(),
                         subject=subject, date=None, headers=headers, body_text=body)
    reason = machine_reason(facts)
    assert reason is None or isinstance(reason, str)
    prospect, phrase = prospect_reason(facts, ProspectRules(
        internal_domains=frozenset({"morgan-law.example"})))
    assert phrase == PROSPECT if prospect else phrase.startswith("not a prospect: ")


# --- made by a machine, beyond doubt (robot_reason): asked of clients too -----------------

@pytest.mark.parametrize(("headers", "body", "reason"), [
    ("From: Mail Delivery Subsystem <x@mx.example>\nSubject: Returned mail", "Sorry.\n",
     "mail system sender (Mail Delivery Subsystem)"),
    ("From: gpc-talk-owner@lists.example\nSubject: Your message awaits moderator approval",
     "Held.\n", "mail system sender (gpc-talk-owner@)"),
    ("From: ndr@mx.example\nSubject: Mail delivery failed", "Failed.\n",
     "mail system sender (ndr@)"),
    ("From: anna@example.org\nSubject: Lease\nTo: list-bounces+alex=morgan-law.example@l.example",
     "Sorry.\n", "sent to a bounce address (list-bounces+alex=morgan-law.example@l.example)"),
    ("From: anna@example.org\nSubject: Automatic reply: Lease", "Away.\n", "auto-reply"),
    ("From: anna@example.org\nSubject: Abwesenheitsnotiz: Lease", "Away.\n", "auto-reply"),
    ("From: anna@example.org\nSubject: Out of office: Lease", "Away.\n", "auto-reply"),
    ("From: anna@example.org\nSubject: Returned mail", "This message was created"
     " automatically by mail delivery software.\n", "bounce report"),
], ids=["mail-system-name", "list-owner", "ndr", "to-bounces", "automatic-reply",
        "abwesenheitsnotiz", "out-of-office-colon", "exim-text"])
def test_robot_signs_no_person_gives(headers: str, body: str, reason: str) -> None:
    assert robot_reason(msg(headers, body)) == reason


@pytest.mark.parametrize(("headers", "body"), [
    # Words a person uses in a subject or a first line, about auto-replies and bounces.
    ("From: anna@example.org\nSubject: Out of office next week", "I am away from Monday.\n"),
    ("From: anna@example.org\nSubject: Question about my auto-reply settings", "How?\n"),
    ("From: anna@example.org\nSubject: Re: Automatic reply settings", "Thanks!\n"),
    ("From: anna@example.org\nSubject: Delivery report for March", "Attached.\n"),
    ("From: anna@example.org\nSubject: Delivery failure of the parts order", "Help.\n"),
    ("From: anna@example.org\nSubject: My mail to you bounced",
     "The message could not be delivered to your colleague; it was a permanent error.\n"),
    ("From: anna@example.org\nSubject: Fwd: Undeliverable: Lease",
     "See below.\n\n---------- Forwarded message ----------\nThis is the mail system at host"
     " mx.example.\n"),
    ("From: anna@example.org\nSubject: Lease\nX-Mailer: PHPMailer 6.0\nFeedback-ID: 1:a:b",
     "Please call me.\nUnsubscribe from our newsletter at https://x.example/u\n"),
], ids=["out-of-office-no-colon", "about-auto-reply", "re-automatic-reply",
        "delivery-report-for-march", "delivery-failure-of-parts", "telling-of-a-bounce",
        "forwarded-bounce", "weak-signs-only"])
def test_a_persons_mail_has_no_robot_sign(headers: str, body: str) -> None:
    assert robot_reason(msg(headers, body)) is None


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(
    [*"unsubscribe opt-out this is an automated message REMOVED fromOURLIST.\n",
     "İ", "ſ", "K", "é"]), max_size=60))
def test_the_fast_case_blind_searches_answer_as_the_case_blind_patterns(text: str) -> None:
    """senders._CaseBlind: lower-cased ASCII text searched case-sensitively, other text
    case-blind; the answer is the IGNORECASE pattern's, whatever the case or script."""
    from heard.domain import senders

    for searcher in (senders._UNSUBSCRIBE_TEXT, senders._AUTOMATED_TEXT,
                     senders._AUTO_REPLY_TEXT, senders._BOUNCE_TEXT):
        for sample in (text, text.upper(), text.title()):
            assert searcher.search(sample) == (searcher.blind.search(sample) is not None)
