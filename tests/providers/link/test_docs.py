"""docs/links.md: the documented registration runs, and the supplier-side checks accept real links."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from providers.link.linkkit import SECRET, SECRET_VAR

DOC = Path(__file__).resolve().parents[3] / "docs" / "links.md"
TEMPLATE = "https://vod.example.org/sso?u={uid}&t={ts}&s={sig}"


def _text() -> str:
    return DOC.read_text(encoding="utf-8")


def _block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", _text(), flags=re.S)
    assert len(blocks) == 1, language
    return blocks[0]


def test_the_documented_registration_works(broker_cli, monkeypatch):
    assert broker_cli("networks", "add", "calvados", "--name", "Calvados").exit_code == 0
    text = re.sub(r"\\\n\s*", " ", _text())
    exports = re.findall(r"^\$ export (\w+)='([^']*)'$", text, flags=re.M)
    for name, value in exports:
        monkeypatch.setenv(name, value)
    console = re.search(r"```console\n(.*?)```", text, flags=re.S).group(1).splitlines()
    command = next(i for i, line in enumerate(console) if line.startswith("$ broker suppliers add-link"))
    result = broker_cli(*shlex.split(console[command][2:])[1:])
    assert result.exit_code == 0, result.output
    expected = [line.rstrip() for line in console[command + 1:] if not line.startswith("$")]
    assert [line.rstrip() for line in result.stdout.splitlines()] == expected
    for _name, value in exports:
        assert value not in result.output


def _link(live, patron, add_link, **query) -> dict[str, str]:
    slug, result, _ = add_link(None, "--network", "calvados", "--url-template", TEMPLATE, "--secret-env", SECRET_VAR)
    assert result.exit_code == 0, result.output
    location = patron.get(live.url(f"/go/{slug}")).headers["Location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_the_python_check_accepts_real_links_and_refuses_others(live, patron, add_link):
    namespace: dict = {}
    exec(compile(_block("python"), str(DOC), "exec"), namespace)  # noqa: S102  (our own documentation)
    verify = namespace["verify"]
    q = _link(live, patron, add_link)
    assert verify(q["u"], q["t"], q["s"], SECRET.encode()) is True
    assert verify(q["u"], q["t"], q["s"], b"another secret of the same length") is False
    assert verify(q["u"] + "x", q["t"], q["s"], SECRET.encode()) is False
    assert verify(q["u"], str(int(q["t"]) - 1), q["s"], SECRET.encode()) is False
    # a link older than the lifetime, or from a clock far ahead, fails even when correctly signed
    import hashlib
    import hmac

    old = str(int(time.time()) - 301)
    signed = hmac.new(SECRET.encode(), (q["u"] + old).encode(), hashlib.sha256).hexdigest()
    assert verify(q["u"], old, signed, SECRET.encode()) is False
    ahead = str(int(time.time()) + 120)
    signed = hmac.new(SECRET.encode(), (q["u"] + ahead).encode(), hashlib.sha256).hexdigest()
    assert verify(q["u"], ahead, signed, SECRET.encode()) is False


def test_the_java_check_accepts_real_links(live, patron, add_link, tmp_path):
    if not (shutil.which("javac") and shutil.which("java")):
        pytest.skip("no Java compiler on this machine")
    source = ("import javax.crypto.Mac; import javax.crypto.spec.SecretKeySpec; import java.util.HexFormat;\n"
              "import java.nio.charset.StandardCharsets; import java.security.MessageDigest; import java.time.Instant;\n"
              "public class Verify { public static void main(String[] a) throws Exception {\n"
              "String u = a[0], t = a[1], s = a[2]; byte[] secret = a[3].getBytes(StandardCharsets.UTF_8);\n"
              + _block("java") + "System.out.println(ok); } }\n")
    (tmp_path / "Verify.java").write_text(source, encoding="utf-8")
    subprocess.run(["javac", "Verify.java"], cwd=tmp_path, check=True, timeout=120)
    q = _link(live, patron, add_link)

    def java(u, t, s, secret=SECRET):
        run = subprocess.run(["java", "-cp", str(tmp_path), "Verify", u, t, s, secret], capture_output=True,
                             text=True, timeout=60, check=True)
        return run.stdout.strip()

    assert java(q["u"], q["t"], q["s"]) == "true"
    assert java(q["u"], q["t"], q["s"], secret=SECRET + "!") == "false"


def test_the_php_check_uses_the_same_construction():
    php = _block("php")
    assert "hash_hmac('sha256', $_GET['u'] . $_GET['t'], $secret)" in php and "hash_equals" in php
