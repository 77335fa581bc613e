"""``nexus providers opt-out list|add|remove PHONE`` as the operator runs it (in this process, for speed: the
command line is the same ``main`` the ``nexus`` script runs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_the_operator_keeps_the_list_of_practices_never_called(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .env of a developer's checkout
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'nexus.db'}")
    code, _, err = run(capsys, "providers", "opt-out", "list")
    assert code == 1
    assert "run `nexus db upgrade`" in err
    assert run(capsys, "db", "upgrade")[0] == 0

    assert run(capsys, "providers", "opt-out", "list") == (0, "No practice has opted out.\n", "")
    assert run(capsys, "providers", "opt-out", "add", "+49 30 5550-6001")[1] == "+493055506001 is never called again.\n"
    assert run(capsys, "providers", "opt-out", "add", "0049 30 55506001")[1] == "+493055506001 had opted out already.\n"
    listed = run(capsys, "providers", "opt-out", "list")[1]
    assert listed.startswith("+493055506001  since ")  # in full: the list is for the operator, not a log
    assert listed.rstrip().endswith("(operator)")

    with pytest.raises(SystemExit) as refused:
        main(["providers", "opt-out", "add", "030 5550 6001"])
    assert str(refused.value) == (
        "nexus providers: 030 5550 6001 is not a phone number in international form; "
        "write it with its country code, like +49 30 1234567."
    )

    assert run(capsys, "providers", "opt-out", "remove", "+493055506001")[1] == "+493055506001 may be called again.\n"
    assert run(capsys, "providers", "opt-out", "remove", "+493055506001")[1] == "+493055506001 was not on the list.\n"
    assert run(capsys, "providers", "opt-out", "list")[1] == "No practice has opted out.\n"
