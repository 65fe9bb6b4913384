"""How well the prospect rules tell people from machines, on real-world mail.

Every message in benchmarks/corpus/ (labelled in labels.csv, origins and licences in
SOURCES.md) is parsed by heard.mail.parse.parse_message and judged by
heard.domain.senders.prospect_reason with empty rules (no internal domains, no
not-a-client list), as for a sender who is not in the client directory.

    /work/venv/bin/python benchmarks/prospect_corpus.py [--all]

prints the share of human messages found as prospects (first contacts and replies
apart), the share of machine mail wrongly taken for a prospect (with a breakdown by
kind), and every miss with its reason; --all also lists the hits.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "desktop"))

from heard.domain.senders import ProspectRules, prospect_reason  # noqa: E402
from heard.mail.parse import MalformedMessage, parse_message  # noqa: E402

CORPUS = HERE / "corpus"


@dataclass(frozen=True)
class Verdict:
    file: str
    label: str          # human-first | human-reply | machine
    kind: str
    prospect: bool | None   # None: the message could not be parsed
    reason: str


def judge(corpus: Path = CORPUS) -> list[Verdict]:
    rules = ProspectRules()
    verdicts = []
    with (corpus / "labels.csv").open(newline="", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            raw = (corpus / row["file"]).read_bytes()
            try:
                facts = parse_message(raw)
            except MalformedMessage as exc:
                verdicts.append(Verdict(row["file"], row["label"], row["kind"], None,
                                        f"unparseable: {exc.reason}"))
                continue
            prospect, reason = prospect_reason(facts, rules)
            verdicts.append(Verdict(row["file"], row["label"], row["kind"], prospect, reason))
    return verdicts


def _share(hits: int, total: int) -> str:
    return f"{hits}/{total} = {100 * hits / total:.1f}%" if total else "0/0"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--all", action="store_true", help="also list every correct verdict")
    args = parser.parse_args(argv)
    verdicts = judge()
    human = [v for v in verdicts if v.label.startswith("human")]
    first = [v for v in human if v.label == "human-first"]
    reply = [v for v in human if v.label == "human-reply"]
    machine = [v for v in verdicts if v.label == "machine"]
    print(f"corpus: {len(verdicts)} messages ({len(human)} human, {len(machine)} machine)")
    print(f"human messages found as prospects:  "
          f"{_share(sum(bool(v.prospect) for v in human), len(human))}")
    print(f"  first contacts:                   "
          f"{_share(sum(bool(v.prospect) for v in first), len(first))}")
    print(f"  replies and other human mail:     "
          f"{_share(sum(bool(v.prospect) for v in reply), len(reply))}")
    print(f"machine mail taken for a prospect:  "
          f"{_share(sum(bool(v.prospect) for v in machine), len(machine))}")
    kinds = Counter(v.kind for v in machine)
    wrong = Counter(v.kind for v in machine if v.prospect)
    for kind, total in kinds.most_common():
        print(f"  {kind:<34}{_share(wrong[kind], total)}")
    unparseable = [v for v in verdicts if v.prospect is None]
    if unparseable:
        print(f"unparseable (counted as not found): {len(unparseable)}")
    print("\nhuman mail missed:")
    for v in human:
        if not v.prospect:
            print(f"  {v.file}  [{v.label}]  {v.reason}")
    print("\nmachine mail taken for a prospect:")
    for v in machine:
        if v.prospect:
            print(f"  {v.file}  [{v.kind}]")
    print("\nreasons given for machine mail:")
    for reason, count in Counter(v.reason for v in machine if not v.prospect).most_common():
        print(f"  {count:4}  {reason}")
    if args.all:
        print("\nevery verdict:")
        for v in verdicts:
            print(f"  {v.file}  [{v.label}]  {v.reason}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
