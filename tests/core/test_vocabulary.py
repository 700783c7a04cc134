"""The verdict's words are spelt once: outside ``vocabulary.py`` nothing compares a value with a
bare string that is one of the vocabulary's words (``r.kind == "tag"``), so a word renamed in the
vocabulary cannot leave a comparison behind that silently stops matching."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import muslwheel
from muslwheel import vocabulary
from muslwheel.vocabulary import BLOCKING, FIXABLE, UNFIXABLE, Kind, Libc, ResolutionKind, Role, Severity

SRC = Path(muslwheel.__file__).parent

#: Comparisons whose string is one of the vocabulary's words by coincidence, not the verdict's:
#: (module, the string). Add here only a comparison that is not about a verdict's word.
NOT_VERDICT_WORDS: frozenset[tuple[str, str]] = frozenset(
    {
        ("kits/build.py", "musl"),  # which source tarball is checked (musl's or CPython's)
        ("zig.py", "musl"),  # a substring of a Rust target triple
    }
)


def _words() -> frozenset[str]:
    out: set[str] = set()
    for cls in (Libc, Severity, Kind, Role, ResolutionKind):
        out.update(member.value for member in cls)
    return frozenset(out)


def _strings(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [s for e in node.elts for s in _strings(e)]
    return []


def literal_comparisons(source: str, words: frozenset[str]) -> list[tuple[int, str]]:
    """(line, word) of every ``==``/``!=``/``in``/``not in`` whose operand is a vocabulary word."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Compare):
            continue
        if not all(isinstance(op, (ast.Eq, ast.NotEq, ast.In, ast.NotIn)) for op in node.ops):
            continue
        for operand in (node.left, *node.comparators):
            found += [(node.lineno, s) for s in _strings(operand) if s in words]
    return found


def test_no_bare_verdict_word_is_compared_outside_the_vocabulary() -> None:
    words = _words()
    leaks = []
    for path in sorted(SRC.rglob("*.py")):
        if path == SRC / "vocabulary.py":
            continue
        module = str(path.relative_to(SRC))
        for line, word in literal_comparisons(path.read_text(), words):
            if (module, word) not in NOT_VERDICT_WORDS:
                leaks.append(f"{module}:{line}: {word!r}")
    assert not leaks, "compare with the vocabulary's enum members instead:\n" + "\n".join(leaks)


def test_the_scan_finds_the_comparisons_it_forbids() -> None:
    # the forms the code had: a field against a word, a word in a tuple of words
    code = 'if r.kind == "tag" or v.libc not in ("musl", "static"):\n    pass\nx = a == "json"\n'
    assert literal_comparisons(code, _words()) == [(1, "tag"), (1, "musl"), (1, "static")]


def test_the_words_print_and_serialise_as_their_bare_value() -> None:
    # the output (JSON and text) must not change with the enums: each is its own string
    for cls in (Libc, Severity, Kind, Role, ResolutionKind):
        for member in cls:
            assert member == member.value and str(member) == member.value and f"{member:>3}".strip() == member.value
            assert json.dumps(member) == json.dumps(member.value)
    assert {"library", "tag"} == FIXABLE and vocabulary.Kind.LIBRARY in FIXABLE


def test_fixability_is_the_vocabularys_and_no_kind_is_both() -> None:
    # repair's FIXABLE and show's gate (UNFIXABLE) read one table: a kind cannot be on both sides
    from muslwheel import audit, gate, repair

    assert not FIXABLE & UNFIXABLE
    assert gate.UNFIXABLE is UNFIXABLE and repair.FIXABLE is FIXABLE and audit.BLOCKING is BLOCKING
