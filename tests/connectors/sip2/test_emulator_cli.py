"""The ``sip2-emulator`` command: bad files refused in one line, and a real server when started."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from broker.testing import free_port
from connectors.sip2.emulator import sip2_emulator_command
from connectors.sip2.patrons_file import PatronFileError, load_patrons


def run(args: list[str]):
    return CliRunner().invoke(sip2_emulator_command, args)


@pytest.mark.parametrize(
    "content, message",
    [
        ("", "fichier vide"),
        ("card,name\n1,x\n", "password"),
        ("card,password,colour\n1,2,3\n", "colour"),
        ("card,password,expires\n1,2,31/12/2099\n", "ligne 2, expires"),
        ("card,password\n1,2\n1,3\n", "ligne 3"),
        ("card,password\n1,2,3\n", "ligne 2"),
        ("card,password\n,2\n", "carte vide"),
    ],
)
def test_bad_patron_files_exit_2_with_one_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "patrons.csv"
    path.write_text(content, encoding="utf-8")
    result = run(["--patrons", str(path), "--login", "a", "--login-password", "b", "--port", "0"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output


def test_missing_or_binary_file_exits_2(tmp_path: Path) -> None:
    result = run(["--patrons", str(tmp_path / "nope.csv"), "--login", "a", "--login-password", "b"])
    assert result.exit_code == 2 and "lecture impossible" in result.output
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"\xff\xfe\x00card")
    result = run(["--patrons", str(binary), "--login", "a", "--login-password", "b"])
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1


def test_sample_file_loads(patrons_csv: Path) -> None:
    patrons = load_patrons(patrons_csv)
    assert len(patrons) == 6 and patrons["23000000000003"].lost
    with pytest.raises(PatronFileError):
        load_patrons(patrons_csv.parent / "missing.csv")


def test_the_command_serves_sip2_until_terminated(patrons_csv: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "connectors.sip2.emulator", "--port", str(port), "--patrons", str(patrons_csv),
         "--login", "sc", "--login-password", "pw", "--flavour", "evergreen"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        banner = process.stdout.readline()
        assert f":{port}" in banner and "evergreen" in banner
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(b"9300CNsc|COpw|\r")
            assert sock.recv(100) == b"941\r"
    finally:
        process.terminate()
        assert process.wait(5) == 0


def test_busy_port_is_one_clear_line(patrons_csv: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        result = run(["--patrons", str(patrons_csv), "--login", "a", "--login-password", "b", "--port", str(port)])
    assert result.exit_code == 1 and "impossible d'écouter" in result.output
