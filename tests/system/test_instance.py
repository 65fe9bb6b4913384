"""Where the running Heard's socket lives (heard.system.instance): a folder only the user
can enter, never a predictable name another user could bind first."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from heard.system.instance import NoPrivateFolder, socket_path
from heard.system.paths import Profile

NOBODY = 65534


@pytest.fixture
def shared_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A temporary folder everyone writes to, as /tmp is, and no session runtime folder."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    tmp.chmod(0o1777)
    monkeypatch.delenv("XDG_RUNTIME_DIR", raising=False)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    return tmp


def test_without_a_runtime_folder_the_socket_is_in_a_private_folder(
        shared_tmp: Path, tmp_path: Path) -> None:
    path = Path(socket_path(Profile(tmp_path / "p")))
    folder = path.parent
    assert folder.parent == shared_tmp and folder.name == f"heard-{os.getuid()}"
    info = folder.stat()
    assert info.st_uid == os.getuid() and stat.S_IMODE(info.st_mode) == 0o700


def test_a_folder_another_user_made_first_is_refused_in_words(
        shared_tmp: Path, tmp_path: Path) -> None:
    squatted = shared_tmp / f"heard-{os.getuid()}"
    squatted.mkdir(mode=0o777)
    os.chown(squatted, NOBODY, NOBODY)                # another local user was there first
    with pytest.raises(NoPrivateFolder, match="is not yours alone"):
        socket_path(Profile(tmp_path / "p"))


def test_a_runtime_folder_others_can_write_to_is_not_used(
        shared_tmp: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(shared_tmp))   # 1777: anyone's
    assert Path(socket_path(Profile(tmp_path / "p"))).parent == \
        shared_tmp / f"heard-{os.getuid()}"
    private = tmp_path / "run"
    private.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(private))
    assert Path(socket_path(Profile(tmp_path / "p"))).parent == private
