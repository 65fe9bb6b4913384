from pathlib import Path

import pytest

from heard.mail.maildir import Maildir, MaildirError, entry_key


def test_keys_survive_the_move_from_new_to_cur(tmp_path: Path) -> None:
    box = Maildir(tmp_path / "box")
    entry = box.deliver(b"Subject: x\r\n\r\n")
    moved = box.path / "cur" / f"{entry.key}:2,S"
    entry.path.rename(moved)
    [found] = list(box.entries())
    assert found.key == entry.key
    assert found.path == moved
    assert entry_key("123.abc:2,RS") == "123.abc"
    assert entry_key("123.abc!2,S") == "123.abc"


def test_delivery_is_atomic_and_idempotent_by_key(tmp_path: Path) -> None:
    box = Maildir(tmp_path / "box")
    box.deliver(b"one", key="k1")
    box.deliver(b"two", key="k1")
    assert [e.path.read_bytes() for e in box.entries()] == [b"one"]
    assert list((box.path / "tmp").iterdir()) == []


def test_dot_files_and_folders_are_ignored(tmp_path: Path) -> None:
    box = Maildir(tmp_path / "box")
    box.create()
    (box.path / "new" / ".hidden").write_bytes(b"x")
    (box.path / "cur" / "subdir").mkdir()
    assert list(box.entries()) == []


def test_check_says_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(MaildirError, match="does not exist"):
        Maildir(tmp_path / "nope").check()
    (tmp_path / "plain").mkdir()
    with pytest.raises(MaildirError, match="needs new/, cur/ and tmp/"):
        Maildir(tmp_path / "plain").check()
