"""What the user's own server says of a sender (heard.domain.authentication)."""

from heard.domain.authentication import Verdict, parse, verdict

TRUSTED = ("mx.morgan-law.example",)


def test_an_authentication_results_header_is_read_with_its_comments_left_out() -> None:
    authserv, results = parse(
        "mx.morgan-law.example (Postfix); dkim=pass (2048-bit key) header.d=hale.example"
        " header.s=s1; spf=pass smtp.mailfrom=hale.example; dmarc=pass (p=reject)"
        " header.from=hale.example")
    assert authserv == "mx.morgan-law.example"
    assert [(r.method, r.result) for r in results] == [("dkim", "pass"), ("spf", "pass"),
                                                       ("dmarc", "pass")]
    assert results[0].properties["header.d"] == "hale.example"


def test_a_pass_counts_only_from_a_trusted_server_and_for_the_from_domain() -> None:
    good = "mx.morgan-law.example; dmarc=pass header.from=hale.example"
    assert verdict([good], TRUSTED, "hale.example") is Verdict.PASS
    # The sender wrote their own header, naming another server: it says nothing.
    assert verdict(["mx.evil.example; dmarc=pass header.from=hale.example"], TRUSTED,
                   "hale.example") is Verdict.NONE
    # A pass for another domain is no pass for this one.
    assert verdict(["mx.morgan-law.example; dkim=pass header.d=evil.example"], TRUSTED,
                   "hale.example") is Verdict.NONE
    assert verdict([good], (), "hale.example") is Verdict.NONE


def test_an_aligned_subdomain_signature_passes_and_a_failure_fails() -> None:
    assert verdict(["mx.morgan-law.example; dkim=pass header.d=mail.hale.example"], TRUSTED,
                   "hale.example") is Verdict.PASS
    assert verdict(["mx.morgan-law.example; dkim=fail header.d=hale.example;"
                    " dmarc=fail header.from=hale.example"], TRUSTED,
                   "hale.example") is Verdict.FAIL
    assert verdict(["mx.morgan-law.example; dkim=pass header.d=example"], TRUSTED,
                   "hale.example") is Verdict.NONE       # a bare TLD aligns with nothing
