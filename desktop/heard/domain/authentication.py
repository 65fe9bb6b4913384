"""Whether a message is from whom its From says: the verdict of the user's own mail server,
read from its Authentication-Results header (RFC 8601), never from the sender's claims.

Anyone can write "From: Margaret Hale <margaret@hale.example>". What the receiving server
checked (DKIM signatures, DMARC alignment) it records in Authentication-Results headers,
each naming the server that checked (its authserv-id). Only headers from a server the user
trusts count (`[autopilot] authserv_ids`): a sender can add Authentication-Results of their
own, naming whatever server they like, but not under the name of the user's server, whose
MTA removes or outranks such forgeries (RFC 8601 section 5).

The verdict for a From domain:
- PASS: a trusted header says dmarc=pass for it, or dkim=pass with a signing domain
  aligned with it (the same organisational domain, relaxed alignment);
- FAIL: a trusted header says dmarc=fail for it (or dkim=fail and nothing passed);
- NONE: no trusted header speaks of it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    NONE = ""


@dataclass(frozen=True)
class Result:
    """One `method=result` of an Authentication-Results header, with its properties."""

    method: str                      # dkim, dmarc, spf, arc, ...
    result: str                      # pass, fail, none, neutral, ...
    properties: dict[str, str]       # header.d, header.from, header.i, smtp.mailfrom, ...


_COMMENT = re.compile(r"\([^()]*\)")
_METHOD = re.compile(r"^\s*([a-z0-9_-]+)(?:/[0-9]+)?\s*=\s*([a-z0-9_-]+)", re.IGNORECASE)
_PROPERTY = re.compile(r"\b([a-z0-9_-]+\.[a-z0-9_-]+)\s*=\s*(\"[^\"]*\"|[^\s;]+)", re.IGNORECASE)


def parse(header: str) -> tuple[str, list[Result]]:
    """The authserv-id and the results of one Authentication-Results header value."""
    text = " ".join(_COMMENT.sub(" ", header).split())
    parts = [p.strip() for p in text.split(";")]
    if not parts or not parts[0]:
        return "", []
    authserv = parts[0].split()[0].lower()
    results = []
    for part in parts[1:]:
        match = _METHOD.match(part)
        if match is None:
            continue
        properties = {k.lower(): v.strip('"').lower() for k, v in _PROPERTY.findall(part)}
        results.append(Result(match.group(1).lower(), match.group(2).lower(), properties))
    return authserv, results


def _aligned(signer: str, domain: str) -> bool:
    """Relaxed alignment (RFC 7489 3.1.1), approximated without the public suffix list:
    one domain is the other or a subdomain of it, and they share more than a TLD."""
    signer, domain = signer.lower().strip("."), domain.lower().strip(".")
    if not signer or not domain or "." not in signer or "." not in domain:
        return False
    return signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain)


def verdict(headers: Iterable[str], trusted: Iterable[str], domain: str) -> Verdict:
    """What the user's trusted servers say of a message whose From is at `domain`."""
    trusted_ids = {t.lower() for t in trusted}
    failed = False
    for header in headers:
        authserv, results = parse(header)
        if authserv not in trusted_ids:
            continue
        for result in results:
            if result.method == "dmarc":
                from_domain = result.properties.get("header.from", domain)
                if not _aligned(from_domain, domain):
                    continue
                if result.result == "pass":
                    return Verdict.PASS
                if result.result in ("fail", "quarantine", "reject"):
                    failed = True
            elif result.method == "dkim":
                signer = result.properties.get("header.d") or \
                    result.properties.get("header.i", "").rpartition("@")[2]
                if result.result == "pass" and _aligned(signer, domain):
                    return Verdict.PASS
                if result.result == "fail" and _aligned(signer, domain):
                    failed = True
    return Verdict.FAIL if failed else Verdict.NONE
