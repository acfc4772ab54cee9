"""Knowledge documents as passages: the text of an upload, split where a reader would split it.

``extract_text`` turns plain text, Markdown or HTML into plain paragraphs with Markdown-style
``#`` headings (no markup, no scripts); it refuses what is not readable text. PDF and Word files
come to the same form through ``domain.document_files``. ``split`` cuts that
text into passages: a heading starts a new one, paragraphs under a heading are joined while
they fit in ``max_chars``, and a paragraph longer than that is cut at sentence ends (at word
boundaries when a single sentence is too long). Each passage keeps the heading it sits under,
so "Breakfast" reads with its "7:00 to 10:30 in the garden room".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Literal

TextFormat = Literal["text", "markdown", "html"]
FileFormat = Literal["pdf", "docx"]
DocumentFormat = Literal[TextFormat, FileFormat]
FORMATS: tuple[DocumentFormat, ...] = ("text", "markdown", "html", "pdf", "docx")
# A passage is what the assistant quotes: long enough for a rule with its conditions, short
# enough to read in a chat bubble and to embed as one idea.
MAX_PASSAGE_CHARS = 700
MIN_PASSAGE_CHARS = 1

_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
_SETEXT = re.compile(r"^(=+|-+)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
_MARKDOWN_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MARKDOWN_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_LIST_MARK = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+")
_SPACES = re.compile(r"[ \t\f\v\u00a0]+")
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "tr",
        "table",
        "section",
        "article",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "blockquote",
        "pre",
        "hr",
        "header",
        "footer",
        "main",
        "nav",
        "aside",
        "figure",
    }
)
_SKIPPED_TAGS = frozenset({"script", "style", "head", "template", "noscript", "svg"})


class UnreadableDocumentError(ValueError):
    """The upload is not text frontdesk can answer from; the message says why."""


@dataclass(frozen=True, slots=True)
class Passage:
    position: int
    heading: str | None
    text: str


def decode(data: bytes) -> str:
    """The upload's bytes as text (UTF-8, a BOM allowed); binary data is refused."""
    if b"\x00" in data:
        raise UnreadableDocumentError("binary data, not text (a NUL byte)")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableDocumentError(
            f"not UTF-8 text (invalid byte at position {error.start})"
        ) from None
    return text


def extract_text(raw: str, document_format: TextFormat) -> str:
    """Plain paragraphs with ``#`` headings; raises ``UnreadableDocumentError`` when none."""
    if "\x00" in raw:
        raise UnreadableDocumentError("binary data, not text (a NUL character)")
    if document_format == "html":
        text = _html_text(raw)
    elif document_format == "markdown":
        text = _markdown_text(raw)
    else:
        text = raw.replace("\r\n", "\n").replace("\r", "\n")
    lines = [_SPACES.sub(" ", line).strip() for line in text.split("\n")]
    cleaned = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    if not re.search(r"\w", cleaned):
        raise UnreadableDocumentError("no text found")
    return cleaned


def split(text: str, *, max_chars: int = MAX_PASSAGE_CHARS) -> tuple[Passage, ...]:
    """The passages of ``extract_text``'s output, in document order."""
    passages: list[Passage] = []
    heading: str | None = None
    pending: list[str] = []

    def flush() -> None:
        if pending:
            passages.append(Passage(len(passages), heading, "\n".join(pending)))
            pending.clear()

    for block in _blocks(text):
        found = _HEADING.match(block)
        if found is not None:
            flush()
            heading = found.group(2).strip()[:200] or None
            continue
        for piece in _pieces(block, max_chars):
            joined = len("\n".join([*pending, piece]))
            if pending and joined > max_chars:
                flush()
            pending.append(piece)
    flush()
    return tuple(p for p in passages if len(p.text) >= MIN_PASSAGE_CHARS)


def _blocks(text: str) -> list[str]:
    """Paragraphs (blank-line separated); a heading line is a block of its own."""
    blocks: list[str] = []
    current: list[str] = []
    for line in text.split("\n"):
        if not line.strip():
            if current:
                blocks.append("\n".join(current))
                current = []
        elif _HEADING.match(line):
            if current:
                blocks.append("\n".join(current))
                current = []
            blocks.append(line)
        else:
            current.append(line)
    if current:
        blocks.append("\n".join(current))
    return blocks


def _pieces(block: str, max_chars: int) -> list[str]:
    """``block`` in pieces of at most ``max_chars``: whole, by sentences, or by words."""
    if len(block) <= max_chars:
        return [block]
    pieces: list[str] = []
    current = ""
    for sentence in _SENTENCE_END.split(block):
        for part in _by_words(sentence, max_chars):
            if current and len(current) + 1 + len(part) > max_chars:
                pieces.append(current)
                current = part
            else:
                current = f"{current} {part}" if current else part
    if current:
        pieces.append(current)
    return pieces


def _by_words(sentence: str, max_chars: int) -> list[str]:
    if len(sentence) <= max_chars:
        return [sentence]
    parts: list[str] = []
    current = ""
    for word in sentence.split():
        while len(word) > max_chars:  # a "word" longer than a passage (a URL, a data blob)
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:max_chars])
            word = word[max_chars:]
        if current and len(current) + 1 + len(word) > max_chars:
            parts.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        parts.append(current)
    return parts


def _markdown_text(raw: str) -> str:
    lines = raw.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out: list[str] = []
    fenced = False
    for index, line in enumerate(lines):
        if line.strip().startswith("```"):
            fenced = not fenced
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        if not fenced and line.strip() and _SETEXT.match(following) and not _SETEXT.match(line):
            out.append(f"# {line.strip()}")
            continue
        if not fenced and _SETEXT.match(line) and out and out[-1].startswith("# "):
            continue  # the underline of a setext heading
        if not fenced and _HEADING.match(line.strip()):
            out.append(line.strip())
            continue
        text = _MARKDOWN_LINK.sub(r"\1", line)
        text = _MARKDOWN_EMPHASIS.sub(r"\2", text)
        text = _LIST_MARK.sub("- ", text)
        text = re.sub(r"^\s*>\s?", "", text)
        out.append(text)
    return "\n".join(out)


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0
        self._heading = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping += 1
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append(f"\n\n{'#' * int(tag[1])} ")
            self._heading = True
        elif tag == "li":
            self.parts.append("\n- ")
        elif tag in ("td", "th"):
            self.parts.append(" ")
        elif tag in _BLOCK_TAGS:
            self.parts.append(
                "\n\n" if tag in ("p", "div", "section", "article", "table") else "\n"
            )

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIPPED_TAGS:
            self._skipping = max(0, self._skipping - 1)
        elif re.fullmatch(r"h[1-6]", tag):
            self.parts.append("\n\n")
            self._heading = False
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skipping:
            # A line break in HTML's text is a space; the tags mark the blocks.
            self.parts.append(data.replace("\n", " "))


def _html_text(raw: str) -> str:
    parser = _TextOf()
    parser.feed(raw)
    parser.close()
    text = "".join(parser.parts)
    # Inside paragraphs HTML's line breaks are spaces; blocks were marked by the tags.
    paragraphs = re.split(r"\n\s*\n", text)
    return "\n\n".join(
        "\n".join(_SPACES.sub(" ", line).strip() for line in p.split("\n") if line.strip())
        for p in paragraphs
    )
