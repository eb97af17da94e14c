"""The plain-language check (taalniveau B1) for letters, as code with its own tests.

What counts: the prose of a letter, that is the text of its paragraphs (`<p>`) and list items
(`<li>`). Tables, code (hashes), citations (sources) and anything marked `data-b1="skip"`
(address blocks, the auditors' section) do not count: they are not sentences for a reader.

How it measures: each prose block is split into sentences at `.`, `!` or `?` followed by a
space and a new sentence, except after a known abbreviation ("nr.", "Stcrt.") or inside a
number ("€ 2.600,00"); the end of a block ends a sentence. A word is a run of letters or digits
(with the `.`/`,` inside numbers); "€" alone is no word. Banned words (with their inflections,
`forms/letters/b1.yaml`) match whole words, case-insensitive.

    report = check_html(html)
    report.ok, report.average_sentence_words, report.banned
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from html.parser import HTMLParser
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vangnet import yamlfile
from vangnet.exceptions import DataError
from vangnet.paths import FORMS_DIR

__all__ = [
    "B1Report",
    "B1Rules",
    "BannedHit",
    "check_html",
    "check_text",
    "find_banned",
    "load_rules",
    "prose_blocks",
    "split_sentences",
    "word_count",
]

RULES_FILE = "letters/b1.yaml"

# Elements whose text is prose, and elements whose text never counts (with all they hold).
_PROSE = frozenset({"p", "li"})
_SKIP = frozenset({"table", "code", "cite", "script", "style", "head", "title"})
_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)

_WORD = re.compile(r"[^\W_]+(?:[.,'’-][^\W_]+)*")
# A candidate sentence end: terminal punctuation, optional closing quote or bracket, space.
_END = re.compile(r"[.!?][\"'”’)]*\s+")


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Source(_Spec):
    title: str
    url: str | None = None


class _Banned(_Spec):
    word: Annotated[str, Field(min_length=1)]
    forms: list[Annotated[str, Field(min_length=1)]] = []


class _RulesFile(_Spec):
    source: _Source
    max_average_sentence_words: Annotated[int, Field(gt=0)]
    banned: list[_Banned]
    abbreviations: list[Annotated[str, Field(pattern=r"^\S+\.$")]]


@dataclass(frozen=True, slots=True)
class B1Rules:
    """The limits of the check, from `forms/letters/b1.yaml`."""

    max_average_sentence_words: int
    # every banned form, lower case, mapped to the word it is a form of
    banned: dict[str, str]
    abbreviations: frozenset[str]
    pattern: re.Pattern[str]


@dataclass(frozen=True, slots=True)
class BannedHit:
    """A banned word found in the prose: the form as written, and its listed word."""

    form: str
    word: str
    sentence: str


@dataclass(frozen=True, slots=True)
class B1Report:
    """The result of the check on one text."""

    sentences: tuple[str, ...]
    words: int
    average_sentence_words: float
    max_average_sentence_words: int
    banned: tuple[BannedHit, ...]

    @property
    def ok(self) -> bool:
        return not self.banned and self.average_sentence_words <= self.max_average_sentence_words

    def longest(self, n: int = 3) -> list[str]:
        """The `n` longest sentences: where to start shortening."""
        return sorted(self.sentences, key=word_count, reverse=True)[:n]

    def summary(self) -> str:
        """One line in Dutch for a test failure or a log."""
        banned = ", ".join(sorted({h.form for h in self.banned})) or "geen"
        return (
            f"{len(self.sentences)} zinnen, gemiddeld {self.average_sentence_words:.1f} woorden"
            f" (hoogstens {self.max_average_sentence_words}); verboden woorden: {banned}"
        )


def _compile(forms: Iterable[str]) -> re.Pattern[str]:
    # longest first, so that "ten behoeve van" wins over a shorter overlapping form
    alternatives = sorted({re.escape(f) for f in forms}, key=len, reverse=True)
    body = "|".join(a.replace(r"\ ", r"\s+") for a in alternatives)
    return re.compile(rf"(?<![\w.])(?:{body})(?![\w])", re.IGNORECASE)


@lru_cache(maxsize=4)
def load_rules(path: Path | None = None) -> B1Rules:
    """The B1 rules from `forms/letters/b1.yaml` (or `path`); a bad file raises `DataError`."""
    path = path or FORMS_DIR / RULES_FILE
    try:
        raw = yamlfile.safe_load(path.read_text(encoding="utf-8"))
        spec = _RulesFile.model_validate(raw)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise DataError(f"{path.name}: de B1-regels zijn ongeldig: {exc}") from exc
    banned: dict[str, str] = {}
    for entry in spec.banned:
        for form in (entry.word, *entry.forms):
            banned[" ".join(form.lower().split())] = entry.word
    return B1Rules(
        max_average_sentence_words=spec.max_average_sentence_words,
        banned=banned,
        abbreviations=frozenset(a.lower() for a in spec.abbreviations),
        pattern=_compile(banned),
    )


class _ProseParser(HTMLParser):
    """Collects the text of prose elements that are not inside a skipped element."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, skips its content)
        self._skip_depth = 0
        self._prose_depth = 0
        self._current: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _VOID:
            if tag == "br" and self._prose_depth:
                self._current.append(" ")
            return
        skips = tag in _SKIP or ("data-b1", "skip") in attrs
        self._stack.append((tag, skips))
        if skips:
            self._skip_depth += 1
        if tag in _PROSE:
            if self._prose_depth:
                self._flush()  # a list inside a list item: the item's own text is a block
            self._prose_depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in _VOID or not any(t == tag for t, _ in self._stack):
            return
        while self._stack:
            open_tag, skips = self._stack.pop()
            if skips:
                self._skip_depth -= 1
            if open_tag in _PROSE:
                self._prose_depth -= 1
                self._flush()
            if open_tag == tag:
                break

    def handle_data(self, data: str) -> None:
        if self._prose_depth and not self._skip_depth:
            self._current.append(data)

    def _flush(self) -> None:
        text = " ".join("".join(self._current).split())
        if text:
            self.blocks.append(text)
        self._current = []


def prose_blocks(html: str) -> list[str]:
    """The prose of an HTML letter: one string per paragraph or list item, in order."""
    parser = _ProseParser()
    parser.feed(html)
    parser.close()
    return parser.blocks


def _ends_with_abbreviation(text: str, abbreviations: frozenset[str]) -> bool:
    last = text.rsplit(None, 1)[-1].lstrip("(\"'“‘").lower()
    return last in abbreviations


def split_sentences(text: str, abbreviations: Iterable[str] | None = None) -> list[str]:
    """Sentences of one prose block; a full stop after an abbreviation ends none."""
    abbrevs = (
        load_rules().abbreviations
        if abbreviations is None
        else frozenset(a.lower() for a in abbreviations)
    )
    sentences: list[str] = []
    start = 0
    for m in _END.finditer(text):
        candidate = text[start : m.start() + 1]
        if text[m.start()] == "." and _ends_with_abbreviation(candidate, abbrevs):
            continue
        if candidate.strip():
            sentences.append(candidate.strip())
        start = m.end()
    rest = text[start:].strip()
    if rest:
        sentences.append(rest)
    return [s for s in sentences if word_count(s)]


def word_count(sentence: str) -> int:
    """Words in a sentence: runs of letters or digits; a number with separators is one."""
    return len(_WORD.findall(sentence))


def find_banned(text: str, rules: B1Rules | None = None) -> list[BannedHit]:
    """Every banned word or form in `text`, whole words only."""
    rules = rules or load_rules()
    return [
        BannedHit(m.group(0), rules.banned[" ".join(m.group(0).lower().split())], text)
        for m in rules.pattern.finditer(text)
    ]


def check_text(blocks: Sequence[str], rules: B1Rules | None = None) -> B1Report:
    """Check prose blocks: average sentence length and banned words."""
    rules = rules or load_rules()
    sentences = [s for block in blocks for s in split_sentences(block, rules.abbreviations)]
    words = sum(word_count(s) for s in sentences)
    hits = [hit for s in sentences for hit in find_banned(s, rules)]
    return B1Report(
        sentences=tuple(sentences),
        words=words,
        average_sentence_words=words / len(sentences) if sentences else 0.0,
        max_average_sentence_words=rules.max_average_sentence_words,
        banned=tuple(hits),
    )


def check_html(html: str, rules: B1Rules | None = None) -> B1Report:
    """Check the prose of an HTML letter."""
    return check_text(prose_blocks(html), rules)
