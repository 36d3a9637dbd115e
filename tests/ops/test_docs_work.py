"""The documents work as written: every command and YAML block of README.md and docs/ is run
or validated.

- YAML blocks: parsed with the configuration loader's own YAML rules (duplicate keys are
  errors); a STORE.yaml fragment is merged into the demo store and validated as a whole, with
  ``${VAR}`` secrets set, exactly as ``o2o-edge run`` would load it.
- Commands of ``o2o-edge`` and ``o2o-hq`` (code blocks and inline code): parsed by the real
  command-line parsers with the documents' placeholders filled in (a sub-command or option the
  program does not have fails here); the ones that need no hardware, network or long run are
  also run in a temporary directory against the demo store.
- Other commands (apt-get, systemctl, mosquitto_passwd, ...) set up a real machine: listed in
  ALLOWED with the reason they are not run.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloud_sync.hq.cli import build_parser as hq_parser
from edge.cli import build_parser as edge_parser
from edge.config.loader import _UniqueKeyLoader, parse_store_config
from edge.config.store import StoreConfig
from tests.conftest import REPO_ROOT, run_cli

DOCS = [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]
DEMO_STORE = REPO_ROOT / "firmware_configs" / "demo_store.yaml"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)
INLINE = re.compile(r"`((?:\.venv/bin/|/opt/o2o/venv/bin/)?o2o-(?:edge|hq) [^`]+)`")

# Commands that set up or inspect a real machine: not run here, and why.
ALLOWED = {
    "apt-get": "installs Debian packages (bootstrap.sh does it for the tests)",
    "adduser": "creates a system user on the edge box",
    "git": "clones the repository onto a box",
    "python3.11": "creates the box's virtual environment",
    "/opt/o2o/venv/bin/pip": "installs into the box's virtual environment",
    "install": "installs files with owners and modes under /etc",
    "editor": "interactive editing",
    "cp": "copies unit files and configurations under /etc",
    "systemctl": "manages services on the box",
    "journalctl": "reads the box's journal",
    "curl": "asks a running edge or HQ at its LAN address",
    "mosquitto_sub": "watches a live store's broker",
    "mosquitto_passwd": "writes the production broker's password file",
    "sudo": "runs as the service user on the box",
    "scripts/bootstrap.sh": "set-up, run by scripts/test.sh itself",
    ".venv/bin/python": "the test command itself",
    "psql": "administers the production database",
}
# Placeholders the documents use, and what stands for them here.
PLACEHOLDERS = {
    "STORE.yaml": str(DEMO_STORE),
    "/etc/o2o/store.yaml": str(DEMO_STORE),
    "store.yaml": str(DEMO_STORE),
    "CAPTURE": "tests/hil/item_leaves_unsold",
    "EVENTS.jsonl": "/tmp/o2o-docs-events.jsonl",
    "SECONDS": "10",
    "NAME": "rfid",
    "HEX": "3074257BF7194E4000001A85",
    "TAG_URI": "urn:epc:tag:sgtin-96:1.0614141.812345.6789",
    "URI": "urn:epc:tag:sgtin-96:1.0614141.812345.6789",
    "URL": "postgresql+psycopg://localhost/o2o",
    "N": "2",
}
# Runnable without hardware, network or a long run (argv after the program name).
RUNNABLE = (
    ("epc", "decode"),
    ("epc", "encode"),
    ("broker-acl",),
    ("members", "keygen"),
)


def blocks(lang: str) -> list[tuple[str, str]]:
    found = []
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            if match.group(1) == lang:
                line = text[: match.start()].count("\n") + 1
                found.append((f"{doc.relative_to(REPO_ROOT)}:{line}", match.group(2)))
    return found


def shell_commands() -> list[tuple[str, str]]:
    commands = []
    for where, body in blocks("sh"):
        joined = re.sub(r"\\\n\s*", " ", body)
        for line in joined.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line and not line.startswith("#"):
                commands.append((where, line.removeprefix("$ ")))
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        for match in INLINE.finditer(text):
            line = text[: match.start()].count("\n") + 1
            commands.append((f"{doc.relative_to(REPO_ROOT)}:{line}", match.group(1)))
    return commands


def argv_of(command: str) -> tuple[str, list[str]] | None:
    """(program, argv) of an o2o-edge / o2o-hq command, placeholders filled; None for others."""
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    if not words:
        return None
    program = Path(words[0]).name
    if program not in ("o2o-edge", "o2o-hq"):
        return None
    argv = []
    for word in words[1:]:
        if word in ("|", ">", "&&", ";"):
            break
        if word.startswith("[") or word.endswith("]") or "|" in word:
            continue  # usage syntax: optional parts and alternatives
        argv.append(PLACEHOLDERS.get(word, word))
    return program, argv


def test_every_yaml_block_loads_and_store_fragments_validate(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    yamls = blocks("yaml")
    assert len(yamls) >= 8
    for name in {n for _where, body in yamls for n in re.findall(r"\$\{(\w+)\}", body)}:
        monkeypatch.setenv(name, "documented-secret-0123456789")
    demo = yaml.load(DEMO_STORE.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    store_keys = set(StoreConfig.model_fields)
    validated = 0
    for where, body in yamls:
        data = yaml.load(body, Loader=_UniqueKeyLoader)  # raises on bad YAML, duplicate keys
        if isinstance(data, dict) and data and set(data) <= store_keys:
            merged = _merge(dict(demo), data)
            parse_store_config(merged, where)  # raises ConfigError naming key and value
            validated += 1
    assert validated >= 4, "the STORE.yaml fragments were not recognised"


def _merge(base: dict[str, Any], fragment: dict[str, Any]) -> dict[str, Any]:
    for key, value in fragment.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = _merge(dict(base[key]), value)
        else:
            base[key] = value
    return base


def test_every_documented_command_exists_with_its_options() -> None:
    parsers = {"o2o-edge": edge_parser(), "o2o-hq": hq_parser()}
    checked = 0
    unknown = []
    for where, command in shell_commands():
        parsed = argv_of(command)
        if parsed is None:
            first = shlex.split(command)[0] if command.strip() else command
            if first not in ALLOWED and Path(first).name not in ALLOWED:
                unknown.append(f"{where}: {command}")
            continue
        program, argv = parsed
        problem = _check(parsers[program], argv)
        assert problem is None, f"{where}: `{command}` ({program} {argv}): {problem}"
        checked += 1
    assert unknown == [], "commands neither checked nor allowed:\n" + "\n".join(unknown)
    assert checked >= 20


def _parses(parser: Any, argv: list[str]) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            parser.parse_args(argv)
    except SystemExit as error:
        return error.code == 0, out.getvalue()
    return True, out.getvalue()


def _check(parser: Any, argv: list[str]) -> str | None:
    """None when ``argv`` parses; a mention without its arguments (``o2o-edge broker-acl``,
    ``members enroll ... --consent REF``) must name a sub-command that exists and options it
    has."""
    ok, output = _parses(parser, argv)
    if ok:
        return None
    words = [w for w in argv if w != "..."]
    while words[:1] in (["--log-level"], ["--log-json"]):  # the program's own options
        words = words[2:] if words[0] == "--log-level" else words[1:]
    path = []
    for word in words:
        if word.startswith("-"):
            break
        path.append(word)
    while path:
        ok, help_text = _parses(parser, [*path, "--help"])
        if ok and "usage:" in help_text:
            missing = [w for w in words if w.startswith("--") and w.split("=")[0] not in help_text]
            return f"unknown options {missing}" if missing else None
        path.pop()
    return output.strip().splitlines()[-1] if output.strip() else "does not parse"


def test_the_documented_commands_that_need_no_hardware_run(tmp_path: Path) -> None:
    ran = 0
    for where, command in shell_commands():
        parsed = argv_of(command)
        if parsed is None or parsed[0] != "o2o-edge":
            continue
        argv = parsed[1]
        runnable = any(tuple(argv[: len(r)]) == r for r in RUNNABLE)
        if not runnable or not _parses(edge_parser(), argv)[0]:
            continue
        argv = [str(tmp_path / "out") if a.startswith("/etc/mosquitto/") else a for a in argv]
        result = run_cli(*argv, timeout=60)
        assert result.returncode == 0, f"{where}: `{command}` failed:\n{result.stderr[-2000:]}"
        ran += 1
    assert ran >= 2
