from __future__ import annotations

from pathlib import Path

import pytest

from heard.domain.mail_links import (
    CannotOpen,
    MailPlace,
    OpenWith,
    clean_message_id,
    gmail_search_url,
    launch_for,
    mid_url,
)


def test_a_message_id_becomes_a_mid_url_percent_encoded() -> None:
    assert mid_url("<CAB123+x@mail.gmail.com>") == "mid:CAB123+x@mail.gmail.com"
    assert mid_url("<a/b?c#d%e\"f@x>") == "mid:a%2Fb%3Fc%23d%25e%22f@x"


@pytest.mark.parametrize("hostile", ["<a b@x>", "<a\r\nX-Evil: 1@x>", "", "<>", "<a<b@x>",
                                     "<" + "a" * 1000 + "@x>", "<é@x>", "<a\x00@x>"])
def test_a_message_id_that_cannot_be_used_safely_is_refused(hostile: str) -> None:
    with pytest.raises(CannotOpen):
        clean_message_id(hostile)


def test_gmail_searches_by_rfc822msgid() -> None:
    assert gmail_search_url("<abc+1@mail.gmail.com>") == (
        "https://mail.google.com/mail/u/0/#search/rfc822msgid%3Aabc%2B1%40mail.gmail.com")


def test_auto_opens_gmail_and_outlook_accounts_on_the_web_and_others_by_mid() -> None:
    gmail = MailPlace("<m1@x>", host="imap.gmail.com", username="a@gmail.com")
    outlook = MailPlace("<m1@x>", host="outlook.office365.com")
    own = MailPlace("<m1@x>", host="imap.firm.example", username="alex")
    assert launch_for(OpenWith.AUTO, gmail).url.startswith("https://mail.google.com/")
    assert launch_for(OpenWith.AUTO, outlook).url == "https://outlook.office.com/mail/inbox"
    assert launch_for(OpenWith.AUTO, own) == launch_for(OpenWith.MAIL_CLIENT, own)
    assert launch_for(OpenWith.AUTO, own).url == "mid:m1@x"


def test_thunderbird_is_a_command_with_the_url_as_one_argument() -> None:
    launch = launch_for(OpenWith.THUNDERBIRD, MailPlace("<a;$(x)`y`|z@x>"))
    assert launch.argv == ("thunderbird", "mid:a;$(x)%60y%60%7Cz@x")
    assert launch.url == ""


def test_the_folder_is_an_imap_url_or_the_maildir(tmp_path: Path) -> None:
    imap = MailPlace("", host="imap.firm.example", username="alex@firm.example",
                     folder="Clients/Hale")
    assert launch_for(OpenWith.FOLDER, imap).url == \
        "imap://alex%40firm.example@imap.firm.example/Clients%2FHale"
    local = MailPlace("", maildir=tmp_path / "INBOX")
    assert launch_for(OpenWith.FOLDER, local).url == (tmp_path / "INBOX").as_uri()
    with pytest.raises(CannotOpen):
        launch_for(OpenWith.FOLDER, MailPlace(""))


def test_percent_encoding_is_urllib_s() -> None:
    from urllib.parse import quote as urllib_quote

    from heard.domain.mail_links import quote

    for text in ("a b/c?d#e%f", "é→✓", "abc-._~", "x@y;z"):
        for safe in ("", "@;", "/"):
            assert quote(text, safe) == urllib_quote(text, safe=safe), (text, safe)
