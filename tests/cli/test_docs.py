"""The README and docs/ tell the truth about the command line, and their links lead somewhere.

What a newcomer relies on: the README's first screen lists every command with an example that
the command accepts, each command has its page, every option an example uses exists, every
link resolves, and docs/results.md is what tools/gen_results.py makes of bench/results/ now.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, checkout_env, muslwheel_cmd

DOCS = REPO / "docs"
README = REPO / "README.md"
#: every page a reader reaches from the README (docs/design.md and docs/json.md included)
PAGES = [README, *sorted(DOCS.rglob("*.md"))]
#: pages whose examples are checked against the command line
EXAMPLE_PAGES = [README, *sorted((DOCS / "commands").glob("*.md")), DOCS / "github-actions.md"]


@functools.cache
def _help(*command: str) -> str:
    proc = subprocess.run(
        [*muslwheel_cmd(), *command, "--help"], capture_output=True, text=True, env=checkout_env(), timeout=60
    )
    assert proc.returncode == 0, f"muslwheel {' '.join(command)} --help: {proc.stderr}"
    return proc.stdout


def _subcommands(*parent: str) -> list[str]:
    """The subcommands ``muslwheel [parent] --help`` lists (argparse's choices line)."""
    m = re.search(r"\{([a-z,-]+)\}", _help(*parent).split("\n\n")[0].replace("\n", ""))
    if m is None:  # a metavar hides the choices: read the indented list under positional arguments
        block = _help(*parent).split("positional arguments:")[1].split("\n\n")[0]
        return re.findall(r"^    ([a-z][a-z-]*)", block, flags=re.M)
    return m.group(1).split(",")


def test_every_command_has_a_page_and_a_row_on_the_readme_first_screen() -> None:
    commands = _subcommands()
    assert {"detect", "tags", "show", "repair", "check", "scan", "report", "build", "kit"} <= set(commands), commands
    text = README.read_text(encoding="utf-8")
    table_start = text.index("## Commands")
    # the first screen: what it is, install-and-run, and the commands
    assert text[:table_start].count("\n") < 30, "the Commands table has slid off the README's first screen"
    table = text[table_start:].split("\n\n")[1]
    rows: dict[str, str] = {}
    for name, link, example in re.findall(
        r"^\| \[([a-z -]+)\]\((docs/commands/[a-z-]+\.md)[^)]*\) \| `muslwheel ([a-z-]+)", table, re.M
    ):
        assert name.split()[0] == example, f"the README's row {name} shows `muslwheel {example}`"
        rows[name] = link
    for command in commands:
        assert (DOCS / "commands" / f"{command}.md").is_file(), f"no docs/commands/{command}.md"
        assert command in rows, f"the README's Commands table has no row for {command}"
        assert rows[command] == f"docs/commands/{command}.md"
    assert set(rows) - {"check --import"} <= set(commands), set(rows) - set(commands)
    pages = {p.stem for p in (DOCS / "commands").glob("*.md")}
    assert pages == set(commands), f"pages without a command: {pages - set(commands)}"


def test_readme_fits_a_few_screens() -> None:
    assert README.read_text(encoding="utf-8").count("\n") <= 90


def _shell_commands(page: Path) -> list[list[str]]:
    """The simple commands in the page's ```sh blocks (continuations joined, pipelines, lists
    and command substitutions split), as word lists."""
    text = page.read_text(encoding="utf-8")
    commands: list[list[str]] = []
    for block in re.findall(r"^```(?:sh|bash|yaml)\n(.*?)^```", text, flags=re.S | re.M):
        joined = re.sub(r"\\\n\s*", " ", block)
        for line in joined.splitlines():
            line = re.sub(r"^\s*(?:- )?run: ", "", line)  # a GitHub Actions step
            lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
            lexer.whitespace_split = True
            try:
                words = list(lexer)
            except ValueError:  # a YAML line that is not shell
                continue
            current: list[str] = []
            for word in [*words, ";"]:
                if word and set(word) <= set("();<>|&") or word == "$":
                    if current:
                        commands.append(current)
                    current = []
                else:
                    current.append(word.removeprefix("$"))
    return commands


def _inline_commands(page: Path) -> list[list[str]]:
    """The ``muslwheel …`` code spans outside code blocks (the README's Commands table)."""
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    return [shlex.split(span) for span in re.findall(r"`(muslwheel [^`]+)`", text)]


def _muslwheel_examples() -> list[tuple[str, list[str]]]:
    found = []
    for page in EXAMPLE_PAGES:
        for words in [*_shell_commands(page), *_inline_commands(page)]:
            if words[:1] == ["muslwheel"] and words[1:]:
                found.append((str(page.relative_to(REPO)), words[1:]))
    return found


def _example_id(value: object) -> str:
    return value if isinstance(value, str) else " ".join(value[:3])  # type: ignore[index]


def test_examples_are_found() -> None:
    by_page = {page for page, _ in _muslwheel_examples()}
    assert "README.md" in by_page and "docs/commands/build.md" in by_page, by_page


@pytest.mark.parametrize(("page", "words"), _muslwheel_examples(), ids=_example_id)
def test_every_example_uses_a_real_command_and_real_options(page: str, words: list[str]) -> None:
    command = words[:1]
    assert command and command[0] in _subcommands(), f"{page}: muslwheel {' '.join(words)}: no such command"
    if command in (["kit"], ["lib"]):  # commands with subcommands
        command = words[:2]
        assert command[1:] and command[1] in _subcommands(command[0]), f"{page}: muslwheel {' '.join(words)}"
    help_text = _help(*command)
    for word in words[len(command) :]:
        if re.fullmatch(r"--?[A-Za-z][\w-]*(=.*)?", word):
            option = word.split("=")[0]
            assert re.search(rf"(?<![\w-]){re.escape(option)}(?![\w-])", help_text), (
                f"{page}: `muslwheel {' '.join(command)}` has no option {option}"
            )


_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def _anchors(page: Path) -> set[str]:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    return {_slug(h) for h in re.findall(r"^#+ (.*)$", text, flags=re.M)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO)))
def test_every_relative_link_resolves(page: Path) -> None:
    text = re.sub(r"^```.*?^```", "", page.read_text(encoding="utf-8"), flags=re.S | re.M)
    for target in _LINK.findall(text):
        if re.match(r"[a-z]+:", target):
            continue
        path, _, fragment = target.partition("#")
        resolved = (page.parent / path).resolve() if path else page
        assert resolved.exists(), f"{page.relative_to(REPO)}: link to {target}: no such file"
        if fragment and resolved.suffix == ".md":
            assert fragment in _anchors(resolved), f"{page.relative_to(REPO)}: link to {target}: no such heading"


def test_the_readme_commands_are_the_ones_that_run() -> None:
    """The install-and-run line installs this checkout and uses commands that exist; the test
    command is the script, and says what the README says about it."""
    text = README.read_text(encoding="utf-8")
    install = text.split("## Install and run")[1].split("```sh\n")[1].split("\n```")[0]
    assert "\n" not in install, "install-and-run is one line a newcomer can paste"
    assert install.startswith("pip install . && muslwheel detect && ")
    tests = text.split("## Run the tests")[1].split("```sh\n")[1].split("\n```")[0]
    assert [line.split("#")[0].strip() for line in tests.splitlines()] == ["scripts/test", "scripts/test --fast"]
    script = REPO / "scripts" / "test"
    assert os.access(script, os.X_OK)
    usage = script.read_text(encoding="utf-8")
    # what the README says the script needs and does, as the script's own header says it
    assert "scripts/test --fast      checks, then the tests that need no musl world" in usage
    assert "needs root" in usage and "Debian" in usage
    assert 'pip install -q -e ".[test]"' in usage and "scripts/setup-system" in usage
    setup = (REPO / "scripts" / "setup-system").read_text(encoding="utf-8")
    for package in ("musl-tools", "qemu-user", "patchelf"):
        assert package in setup and package in text, package
    assert "Needs root" in setup


def test_the_renamed_builder_package_is_not_named_by_its_old_name() -> None:
    """`muslwheel.build` became `muslwheel.builder` (the command stays `muslwheel build`).
    docs/design.md is the lead's to redraw."""
    for page in PAGES:
        if page.name == "design.md":
            continue
        text = page.read_text(encoding="utf-8")
        assert not re.search(r"muslwheel[./]build(?![\w-])|`build/`", text), f"{page.relative_to(REPO)}"


def _gen_results(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, REPO / "tools" / "gen_results.py", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_results_page_is_what_the_generator_makes_now(tmp_path: Path) -> None:
    proc = _gen_results("-o", tmp_path / "results.md")
    assert proc.returncode == 0, proc.stderr
    assert (DOCS / "results.md").read_text(encoding="utf-8") == (tmp_path / "results.md").read_text(encoding="utf-8"), (
        "docs/results.md is out of date: python tools/gen_results.py"
    )
    assert _gen_results("--check").returncode == 0


def test_results_generator_names_a_file_that_changed_shape(tmp_path: Path) -> None:
    """A results file whose summary lines went is named, not silently dropped from the page;
    nothing is written."""
    results = tmp_path / "results"
    results.mkdir()
    for path in (REPO / "bench" / "results").glob("*.txt"):
        text = path.read_text(encoding="utf-8")
        if path.name == "show.txt":
            text = "".join(line for line in text.splitlines(True) if not line.startswith("A/"))
        (results / path.name).write_text(text, encoding="utf-8")
    proc = _gen_results("--results", results, "-o", tmp_path / "results.md")
    assert proc.returncode == 2
    assert "bench/results/show.txt: no line matches" in proc.stderr, proc.stderr
    assert not (tmp_path / "results.md").exists()
    # and a page that differs from the files is caught
    (tmp_path / "stale.md").write_text((DOCS / "results.md").read_text(encoding="utf-8") + "a stale line\n")
    assert _gen_results("--check", "-o", tmp_path / "stale.md").returncode == 1
