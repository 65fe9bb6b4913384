"""A realistic INBOX for the IMAP benchmarks, written straight into a Dovecot Maildir.

The mix (per 100 messages): 5 from known clients, 25 plain human mail from unknown
senders, 70 newsletters and notifications (List-Id, List-Unsubscribe, Precedence: bulk).
Every message is dated within the last 30 days and is about 2.4 KB; the file's mtime is
its date, so Dovecot's INTERNALDATE agrees with the Date header.
"""

from __future__ import annotations

import base64
import os
import random
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

MIX = (("client", 0.05), ("human", 0.25), ("bulk", 0.70))
MIX_TEXT = ("5% known clients, 25% unknown people, 70% newsletters/notifications "
            "(List-Id, List-Unsubscribe, Precedence: bulk)")
TARGET_SIZE = 2400

_WORDS = ("the meeting contract closing documents attached please review schedule call "
          "tomorrow invoice payment property estate agreement draft signature question "
          "update thanks regards would could let me know when you have a moment about "
          "our last conversation next week deadline filing court hearing lease office "
          "quarter report numbers team project proposal budget approve change order")
_FIRST = ("Anna Ben Carla David Elena Frank Grace Henry Irene Jonas Karen Luis Maria Nora "
          "Oscar Paula Quentin Rosa Samuel Tara Umar Vera Walter Yusuf Zoe")
_LAST = ("Abbott Becker Chen Dubois Evans Fischer Garcia Hoffmann Ivanov Jensen Kowalski "
         "Larsen Moreau Novak Olsen Petrov Quinn Rossi Schmidt Tanaka Ueda Vogel Weber")
WORDS, FIRST, LAST = _WORDS.split(), _FIRST.split(), _LAST.split()
LISTS = ("weekly-digest", "product-news", "offers", "status", "community", "releases",
         "billing", "security-alerts", "events", "newsletter")


@dataclass(frozen=True)
class Mailbox:
    count: int
    kinds: dict[str, int]
    mean_size: float


def client_address(i: int) -> str:
    return f"c{i}@client{i}.example"


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def _paragraphs(rng: random.Random, size: int) -> str:
    out: list[str] = []
    total = 0
    while total < size:
        line = _words(rng, rng.randint(8, 14)).capitalize() + "."
        out.append(line)
        total += len(line) + 2
    return "\r\n".join(out)[:max(size, 1)]


def _received(rng: random.Random, host: str, at: datetime) -> str:
    ip = f"203.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
    sid = base64.b32encode(rng.randbytes(8)).decode().strip("=")
    return (f"Received: from {host} ({host} [{ip}])\r\n\tby mx.example.com (Postfix) with "
            f"ESMTPS id {sid}\r\n\tfor <alex@example.com>; {format_datetime(at)}\r\n")


def _dkim(rng: random.Random, domain: str) -> str:
    sig = base64.b64encode(rng.randbytes(128)).decode()
    return (f"DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d={domain}; s=s1;\r\n"
            f"\th=from:to:subject:date:message-id;\r\n"
            f"\tbh={base64.b64encode(rng.randbytes(32)).decode()};\r\n"
            f"\tb={sig[:86]}\r\n\t {sig[86:]}\r\n")


def message(kind: str, n: int, at: datetime, to: str, rng: random.Random,
            clients: int) -> bytes:
    zone = timezone(timedelta(hours=rng.choice((-7, -5, 0, 1, 2, 9))))
    local = at.astimezone(zone)
    if kind == "client":
        i = rng.randrange(clients)
        domain = f"client{i}.example"
        sender = f"Client {i} <{client_address(i)}>"
        subject = f"Re: {_words(rng, rng.randint(3, 6))}".title()
        extra = ""
    elif kind == "human":
        first, last = rng.choice(FIRST), rng.choice(LAST)
        domain = f"{last.lower()}-{rng.randint(1, 400)}.example"
        sender = f"{first} {last} <{first.lower()}.{last.lower()}@{domain}>"
        subject = _words(rng, rng.randint(3, 7)).capitalize()
        extra = ""
    else:
        lst = rng.choice(LISTS)
        domain = f"mail{rng.randint(1, 60)}.example"
        sender = f"{lst.replace('-', ' ').title()} <noreply@{domain}>"
        subject = f"[{lst}] {_words(rng, rng.randint(4, 8))}"
        extra = (f"List-Id: {lst.title()} <{lst}.{domain}>\r\n"
                 f"List-Unsubscribe: <https://{domain}/u/{rng.getrandbits(64):x}>,\r\n"
                 f"\t<mailto:unsubscribe+{rng.getrandbits(32):x}@{domain}>\r\n"
                 "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
                 "Precedence: bulk\r\n"
                 f"Feedback-ID: {rng.randint(1, 99)}:{lst}:{domain}\r\n"
                 "X-Mailer: bench-mailer 2.1\r\n")
    # People's mail returns to themselves; bulk mail to a bounce handler.
    back = f"bounce@{domain}" if kind == "bulk" else sender.split("<")[1].rstrip(">")
    head = (f"Return-Path: <{back}>\r\nDelivered-To: {to}\r\n"
            + _received(rng, f"out.{domain}", at) + _dkim(rng, domain) +
            f"From: {sender}\r\nTo: Alex Morgan <{to}>\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(local)}\r\n"
            f"Message-ID: <{n}.{rng.getrandbits(48):x}@{domain}>\r\n" + extra +
            "MIME-Version: 1.0\r\n")
    size = max(300, int(rng.gauss(TARGET_SIZE, 350)))
    room = max(200, size - len(head) - 120)
    if kind == "bulk":
        text = _paragraphs(rng, room // 3)
        html = "<html><body>" + "".join(f"<p>{p}</p>" for p in
                                        _paragraphs(rng, room // 2).split("\r\n")) + \
               "</body></html>"
        boundary = f"=_b{rng.getrandbits(40):x}"
        body = (f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
                f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                f"--{boundary}\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{html}\r\n"
                f"--{boundary}--\r\n")
    else:
        body = ("Content-Type: text/plain; charset=utf-8\r\n"
                "Content-Transfer-Encoding: 7bit\r\n\r\n"
                f"Hello Alex,\r\n\r\n{_paragraphs(rng, room)}\r\n\r\nBest,\r\n"
                f"{sender.split(' <')[0]}\r\n")
    return (head + body).encode()


def populate(maildir: Path, count: int, to: str, uid: int, gid: int,
             clients: int = 25, seed: int = 4) -> Mailbox:
    """Write `count` messages into maildir/cur (Dovecot indexes them on first SELECT)."""
    rng = random.Random(seed)
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True, exist_ok=True)
    for path in (maildir, maildir / "cur", maildir / "new", maildir / "tmp"):
        os.chown(path, uid, gid)
    now = datetime.now(UTC)
    kinds = {k: 0 for k, _ in MIX}
    total = 0
    cur = maildir / "cur"
    order = [k for k, share in MIX[:-1] for _ in range(round(count * share))]
    order += [MIX[-1][0]] * (count - len(order))
    rng.shuffle(order)
    for n, kind in enumerate(order):
        kinds[kind] += 1
        # Within the last 29.5 days: never on the edge of the 30-day window.
        at = now - timedelta(seconds=rng.uniform(60, 29.5 * 86400))
        raw = message(kind, n, at, to, rng, clients)
        total += len(raw)
        path = cur / f"{int(at.timestamp())}.M{n}P1.localhost:2,{'S' if n % 10 else ''}"
        path.write_bytes(raw)
        os.utime(path, (time.time(), at.timestamp()))
        os.chown(path, uid, gid)
    return Mailbox(count, kinds, total / max(count, 1))
