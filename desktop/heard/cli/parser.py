"""The command line's grammar: every command, its options and their help."""

from __future__ import annotations

import argparse

from heard import __version__
from heard.domain.clients import REPORT_EVERY, Channel


class UsageError(Exception):
    """Bad usage found after parsing (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    # The options every command takes, before or after the command name. In subcommands
    # they default to SUPPRESS so they do not overwrite a value given before the command.
    top = argparse.ArgumentParser(add_help=False)
    common = argparse.ArgumentParser(add_help=False)
    for parser_, default in ((top, None), (common, argparse.SUPPRESS)):
        parser_.add_argument(
            "--profile", metavar="DIR", default=default,
            help="profile folder (default: $HEARD_PROFILE or the user data folder)")
        parser_.add_argument("-v", "--verbose", action="store_true",
                             default=False if default is None else default,
                             help="log debug detail")
    jsonp = argparse.ArgumentParser(add_help=False)
    jsonp.add_argument("--json", action="store_true", help="print one JSON object")

    parser = argparse.ArgumentParser(
        prog="heard", parents=[top],
        description="Heard keeps your promise of responsiveness to clients. "
                    "Without a command, starts the tray app.")
    parser.add_argument("--version", action="version", version=f"heard {__version__}")
    parser.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--selftest", nargs="?", const="-", metavar="FILE",
        help="check that this installation is complete (Qt, tray icon, package data, store,"
             " keyring, mail and calendar libraries), one line per check; exit 1 on a"
             " failure; with FILE, also write the lines there")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    # The demo's own --profile: its default is no profile of the user's but a new folder.
    demo = sub.add_parser("demo", help="the tray app on a fresh demo profile (no account needed)")
    demo.add_argument("--profile", metavar="DIR", default=argparse.SUPPRESS,
                      help="keep the demo in DIR (a new or empty folder, or an earlier demo's;"
                           " kept afterwards); default: a new temporary folder, removed when"
                           " the demo ends (HEARD_PROFILE is not used)")
    demo.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                      help="log debug detail")
    demo.add_argument("--no-generator", action="store_true",
                      help="do not drop new client messages while running")
    demo.add_argument("--exit-when-shown", action="store_true", help=argparse.SUPPRESS)

    sub.add_parser("sync", parents=[common, jsonp], help="fetch mail and calendars once")
    sub.add_parser("status", parents=[common, jsonp], help="who is waiting, and the busy state")

    ack = sub.add_parser("ack", parents=[common, jsonp], help="acknowledge an inquiry")
    ack.add_argument("id", type=int, help="inquiry id (from `heard status`)")
    ack.add_argument("--template", help="template name (default: from settings)")
    ack.add_argument("--reply-by", metavar="TIME", help="promised time (HH:MM or ISO-8601)")
    ack.add_argument("--dry-run", action="store_true", help="show the reply, send nothing")
    ack.add_argument("--only", action="store_true",
                     help="this message only (default: everything of the client's that waits,"
                     " in one reply)")

    delegate = sub.add_parser("delegate", parents=[common, jsonp],
                              help="hand an inquiry to your assistant")
    delegate.add_argument("id", type=int, help="inquiry id (from `heard status`)")
    delegate.add_argument("--to", metavar="NAME", help="the assistant (default: the first)")
    delegate.add_argument("--note", metavar="TEXT", help="a note for the assistant")
    delegate.add_argument("--due", metavar="TIME",
                          help="when they should have taken it up (default: from settings)")
    tell = delegate.add_mutually_exclusive_group()
    tell.add_argument("--tell-client", dest="tell_client", action="store_true", default=None,
                      help="tell the client who will help (default: from settings)")
    tell.add_argument("--no-tell-client", dest="tell_client", action="store_false",
                      help="do not tell the client")
    delegate.add_argument("--dry-run", action="store_true", help="show it, send nothing")
    delegate.add_argument("--only", action="store_true",
                          help="this message only (default: everything of the client's that"
                          " waits, in one forward)")

    doctor = sub.add_parser("doctor", parents=[common, jsonp],
                            help="check everything Heard needs, with a fix for each problem")
    doctor.add_argument("--offline", action="store_true",
                        help="skip the servers (accounts, calendars)")
    doctor.add_argument("--no-desktop", action="store_true",
                        help="skip the tray and notification checks")

    outbox = sub.add_parser("outbox", parents=[common, jsonp],
                            help="messages not sent yet, and deciding on unsure ones")
    outbox.add_argument("action", nargs="?", default="list",
                        choices=["list", "flush", "resend", "mark-sent", "cancel"],
                        help="list (default); flush: try now; resend / mark-sent: settle an"
                             " unsure message; cancel: do not send a queued one")
    outbox.add_argument("message_id", nargs="?", metavar="MESSAGE-ID")
    outbox.add_argument("--all", action="store_true", help="also the last two weeks' sent")

    sharing = sub.add_parser("sharing", parents=[common, jsonp],
                             help="this device among your others, and the settings they share")
    sharing.add_argument("action", nargs="?", default="status",
                         choices=["status", "sync", "push", "invite", "join"],
                         help="status (default); sync: agree on the shared settings now;"
                              " push: this device's standards, templates and designated"
                              " device replace the shared ones; invite: show a code that"
                              " lets another device join (valid an hour); join CODE: join"
                              " your devices with the code another one showed")
    sharing.add_argument("code", nargs="?", metavar="CODE",
                         help="for join: the code `heard sharing invite` showed")
    sharing.add_argument("--accept", action="store_true",
                         help="for sync: take another device's change of the templates or"
                              " of which device acts (sync shows it first, and waits for"
                              " this)")
    prospect = sub.add_parser("prospect", parents=[common, jsonp],
                              help="decide on a prospect: client, prospect, not-a-client")
    prospect.add_argument("decision",
                          choices=["client", "prospect", "not-a-client", "undo", "unlist"],
                          help="client: into the directory; prospect: keep; not-a-client:"
                               " never count this sender; undo: take back the last"
                               " decision; unlist: take a value off the not-a-client list")
    prospect.add_argument("target", nargs="?", metavar="ID|VALUE",
                          help="the inquiry id (from `heard status`), or for unlist the"
                               " address, domain or number")
    prospect.add_argument("--domain", action="store_true",
                          help="not-a-client: the sender's whole domain")
    prospect.add_argument("--tier", help="client: the tier (default standard)")
    stats = sub.add_parser("stats", parents=[common, jsonp],
                           help="how well your response standards are kept")
    stats.add_argument("--since", metavar="DATE", help="from (default: this Monday)")
    stats.add_argument("--until", metavar="DATE", help="until (default: now)")
    stats.add_argument("--by", default="all",
                       choices=["all", "week", "day", "client", "channel", "tier", "prospect"],
                       help="one line per week, day, client, channel, tier, or clients vs"
                            " prospects")
    kind = stats.add_mutually_exclusive_group()
    kind.add_argument("--prospects", action="store_true", help="new people only")
    kind.add_argument("--clients", action="store_true", help="clients only")
    stats.add_argument("--csv", action="store_true", help="CSV with the JSON's fields")
    stats.add_argument("--html", metavar="FILE", help="write a summary page to FILE")
    busy = sub.add_parser("busy", parents=[common, jsonp],
                          help="busy or free at an instant (default now), and until when")
    busy.add_argument("--at", metavar="TIME", help="HH:MM today or ISO-8601")
    explain = sub.add_parser("explain", parents=[common, jsonp],
                             help="what Heard makes of message files, and why")
    explain.add_argument("files", nargs="+", metavar="FILE", help=".eml or Maildir files")
    call = sub.add_parser("log-call", parents=[common, jsonp],
                          help="log a call by hand; it waits like any other contact")
    call.add_argument("--from", dest="who", required=True, metavar="NUMBER|CLIENT",
                      help="the caller's number, or a client's id or name")
    call.add_argument("--at", metavar="TIME", help="when they called (HH:MM or ISO-8601)")
    call.add_argument("--note", metavar="TEXT", help="what it was about")

    snooze = sub.add_parser("snooze", parents=[common, jsonp],
                            help="set a waiting client aside until a time, without a reply")
    snooze.add_argument("who", metavar="ID|CLIENT",
                        help="an inquiry id (from `heard status`), or a client's name")
    when = snooze.add_mutually_exclusive_group(required=True)
    when.add_argument("--until", metavar="TIME",
                      help="15:00, 'tomorrow 9:00', tomorrow, meeting-end, 90m, or ISO-8601")
    when.add_argument("--off", action="store_true", help="wake them now: counted again")

    follow = sub.add_parser("follow-up", parents=[common, jsonp],
                            help="wait on a client's reply until a time (they owe you one)")
    follow.add_argument("who", metavar="ID|CLIENT",
                        help="an inquiry id (its subject and thread) or a client's name; with"
                             " --off, a follow-up id (from `heard follow-ups`) or a client")
    by = follow.add_mutually_exclusive_group(required=True)
    by.add_argument("--by", metavar="TIME", help="'2 working days', thursday, 2026-12-10,"
                    " tomorrow, 'tomorrow 9:00', 15:00, or ISO-8601")
    by.add_argument("--off", action="store_true", help="stop waiting on them")
    follow.add_argument("--note", metavar="TEXT", help="what you are waiting for")
    follows = sub.add_parser("follow-ups", parents=[common, jsonp],
                             help="who you wait on, and who owes you a reply")
    follows.add_argument("--all", action="store_true",
                         help="also those closed in the last two weeks, and how")
    away = sub.add_parser("away", parents=[common, jsonp],
                          help="an absence: clients hear once that you are away (and who"
                               " stands in); without options, the absences set")
    away.add_argument("--from", dest="starts", metavar="TIME",
                      help="when it starts (a date is its start of day; default now)")
    away.add_argument("--until", metavar="TIME",
                      help="when you are back (a date: that day's opening)")
    away.add_argument("--template", metavar="NAME", help="the reply (default: absence)")
    away.add_argument("--deputy", metavar="NAME", help="who stands in, named in the reply")
    away.add_argument("--tiers", metavar="TIER,...",
                      help="only these tiers are told (default: every client)")
    away.add_argument("--off", nargs="?", const="all", metavar="ID",
                      help="take an absence back (default: every one not over)")
    nudge = sub.add_parser("nudge", parents=[common, jsonp],
                           help="send the nudge to a client who owes you a reply")
    nudge.add_argument("follow_up", metavar="ID", type=int,
                       help="a follow-up id (from `heard follow-ups`)")
    nudge.add_argument("--dry-run", action="store_true", help="show it, send nothing")

    for name, text in (("answered", "mark an inquiry answered (you called, you met)"),
                       ("dismiss", "set an inquiry aside: no reply needed")):
        p = sub.add_parser(name, parents=[common, jsonp], help=text)
        p.add_argument("id", type=int, help="inquiry id (from `heard status`)")
        p.add_argument("--only", action="store_true",
                       help="this message only (default: everything of the client's that"
                       " waits)")

    clients = sub.add_parser("clients", parents=[common], help="the client directory")
    csub = clients.add_subparsers(dest="action", metavar="ACTION", required=True)
    csub.add_parser("list", parents=[common, jsonp], help="list clients")
    for name in ("add", "edit"):
        p = csub.add_parser(name, parents=[common, jsonp], help=f"{name} a client")
        if name == "add":
            p.add_argument("name")
        else:
            p.add_argument("client", help="client id or name")
            p.add_argument("--name")
        p.add_argument("--email", action="append", default=[], metavar="ADDR")
        p.add_argument("--domain", action="append", default=[], metavar="DOMAIN")
        p.add_argument("--phone", action="append", default=[], metavar="NUMBER")
        p.add_argument("--preferred-name", metavar="NAME")
        p.add_argument("--tier", default="standard" if name == "add" else None)
        p.add_argument("--channel", choices=[c.value for c in Channel],
                       default="email" if name == "add" else None)
        p.add_argument("--status-reports", choices=[*REPORT_EVERY, "none"],
                       help="how often this client wants a status report (a reminder"
                            " comes when one is due)")
        p.add_argument("--assistant", choices=["yes", "no"],
                       help="may your assistant deal with this client (no: Heard never"
                            " tells them an assistant is helping)")
        p.add_argument("--signs", choices=["yes", "no"],
                       help="does this client's mail pass DKIM/DMARC (no: the autopilot"
                            " answers them without your mail server's word)")
        p.add_argument("--language", metavar="LANG",
                       help='the language replies to them are written in, e.g. "de" or'
                            ' "en_GB" ("" = yours)')
        p.add_argument("--zone", metavar="ZONE",
                       help='their time zone, e.g. "Europe/Berlin" (a promise is written in'
                            ' their time too; "" = yours)')
    sent = csub.add_parser("report-sent", parents=[common],
                           help="note that a client had the status report they asked for")
    sent.add_argument("client", help="client id or name")
    rm = csub.add_parser("remove", parents=[common], help="remove a client")
    rm.add_argument("client", help="client id or name")
    imp = csub.add_parser("import", parents=[common, jsonp], help="import a .vcf or .csv file")
    imp.add_argument("file")

    account = sub.add_parser("account", parents=[common], help="mail accounts and calendars")
    asub = account.add_subparsers(dest="action", metavar="ACTION", required=True)
    asub.add_parser("list", parents=[common, jsonp], help="list accounts")
    add = asub.add_parser("add", parents=[common, jsonp],
                          help="add a mail account from its address, an IMAP or CalDAV"
                               " account, a Maildir or a calendar")
    add.add_argument("kind", choices=["mail", "imap", "maildir", "calendar", "caldav"])
    add.add_argument("path", nargs="?",
                     help="mail: your e-mail address (the servers are found from it);"
                          " maildir: the folder; calendar: an .ics file, a folder of .ics"
                          " files or an https:// subscription; caldav: the server address")
    add.add_argument("--app-password", action="store_true",
                     help="mail: sign in to Google with an app password instead of OAuth2")
    add.add_argument("--name")
    add.add_argument("--address", help="the address replies are sent from")
    add.add_argument("--sent", metavar="PATH", help="maildir: the Maildir of your sent mail")
    add.add_argument("--outbox", metavar="PATH",
                     help="maildir: the Maildir that replies are delivered to")
    add.add_argument("--host", help="imap: the server, e.g. imap.example.com")
    add.add_argument("--port", type=int, help="imap: the port (default 993 for tls, 143 else)")
    add.add_argument("--security", choices=["tls", "starttls", "plain"], default="tls",
                     help="imap: tls (default), starttls, or plain (this machine only)")
    add.add_argument("--username", help="imap: the login name (default: --address)")
    add.add_argument("--folder", action="append", default=[], metavar="NAME",
                     help="imap: a folder clients write to (default INBOX; repeatable)")
    add.add_argument("--sent-folder", metavar="NAME",
                     help="imap: your Sent folder (default: found on the server)")
    add.add_argument("--ca-file", metavar="PATH",
                     help="CA certificate of a server with its own authority")
    add.add_argument("--calendar", action="append", default=[], metavar="NAME",
                     help="caldav: a calendar that counts (default: all; repeatable)")
    add.add_argument("--smtp-host", metavar="HOST",
                     help="imap, maildir: the SMTP server replies leave by")
    add.add_argument("--smtp-port", type=int, metavar="PORT",
                     help="the SMTP port (default 587 for starttls, 465 for tls)")
    add.add_argument("--smtp-security", choices=["starttls", "tls", "plain"],
                     default="starttls", help="starttls (default), tls, or plain (this"
                     " machine only)")
    add.add_argument("--smtp-username", metavar="NAME",
                     help="the SMTP login (default: the IMAP username; its password is"
                          " asked for separately when it differs)")
    add.add_argument("--smtp-ca-file", metavar="PATH", help="CA file of the SMTP server")
    add.add_argument("--sent-copy", choices=["append", "server"], default="append",
                     help="append (default): Heard files each reply in Sent; server: the"
                          " server does it itself (Gmail)")
    add.add_argument("--password-stdin", action="store_true",
                     help="imap: read the password from stdin (for scripts; a second line"
                          " is the SMTP password when its username differs)")
    add.add_argument("--no-test", action="store_true",
                     help="imap: add the account without logging in first")
    add.add_argument("--oauth", metavar="PROVIDER",
                     help="imap: sign in with microsoft or google (OAuth2: a code to type"
                          " in a browser, on any device) instead of a password")
    signin = asub.add_parser("signin", parents=[common],
                             help="sign in again to an account's provider (OAuth2)")
    signin.add_argument("name")
    pw = asub.add_parser("password", parents=[common],
                         help="store a new password for an account in the keyring")
    pw.add_argument("name")
    pw.add_argument("--smtp", action="store_true",
                    help="the account's SMTP password (when its login differs from IMAP)")
    pw.add_argument("--password-stdin", action="store_true", help="read it from stdin")
    test = asub.add_parser("test", parents=[common], help="check that accounts can be read")
    test.add_argument("name", nargs="?")
    rma = asub.add_parser("remove", parents=[common], help="remove an account")
    rma.add_argument("name")
    return parser
