"""A PDF page's text as paragraphs: a PDF holds positioned runs of text, not paragraphs, so they
are found again from where the lines sit.

Each run of text pypdf reads comes with its position and font size. Lines follow each other
at about their font's height; a gap of more than ``PARAGRAPH_GAP`` times the font size (or a
jump back up the page: the next column) starts a new paragraph. A short line set at least
``HEADING_SCALE`` times larger than the page's body text is a heading, written ``# Heading``
as the splitter expects. Within a paragraph the wrapped lines are joined; list items (``•``,
``-``, ``1.``) keep their own lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pypdf import PageObject

PARAGRAPH_GAP = 1.6
SAME_LINE = 0.3
HEADING_SCALE = 1.15
MAX_HEADING_CHARS = 100

_SPACES = re.compile(r"\s+")
_BULLET = re.compile(r"^(?:[\u2022\u25aa\u25e6\u2023\u00b7*\u2013-]|\d{1,2}[.)])\s+")


@dataclass(slots=True)
class _Line:
    y: float
    sizes: list[float] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return _SPACES.sub(" ", "".join(self.parts)).strip()


def page_text(page: PageObject) -> str:
    """The page as paragraphs separated by blank lines, headings as ``# `` lines."""
    lines: list[_Line] = []
    open_line: list[_Line] = []  # the line runs are added to until a line break

    def visit(text: str, cm: Any, tm: Any, font: Any, font_size: float) -> None:
        # Where the run sits on the page: the text matrix within the current transformation.
        y = float(tm[4]) * float(cm[1]) + float(tm[5]) * float(cm[3]) + float(cm[5])
        size = abs(font_size * float(tm[3]) * float(cm[3])) or abs(font_size)
        for index, part in enumerate(text.split("\n")):
            if index > 0:
                open_line.clear()
            if not part:
                continue
            if not open_line:
                open_line.append(_Line(y))
                lines.append(open_line[0])
            open_line[0].sizes.append(size)
            open_line[0].parts.append(part)

    plain = page.extract_text(visitor_text=visit)
    read = [line for line in lines if line.text]
    if not read:  # the runs told nothing usable: take pypdf's text, a paragraph per gap
        return "\n\n".join(_joined(block.split("\n")) for block in re.split(r"\n\s*\n", plain))
    return "\n\n".join(_paragraphs(read))


def _paragraphs(lines: list[_Line]) -> list[str]:
    body = _body_size(lines)
    paragraphs: list[str] = []
    current: list[str] = []
    previous: _Line | None = None
    for line in lines:
        heading = min(line.sizes) >= body * HEADING_SCALE and len(line.text) <= MAX_HEADING_CHARS
        if current and (heading or previous is None or _breaks(previous, line)):
            paragraphs.append(_joined(current))
            current = []
        if heading:
            paragraphs.append(f"# {line.text}")
            previous = None
            continue
        current.append(line.text)
        previous = line
    if current:
        paragraphs.append(_joined(current))
    return paragraphs


def _body_size(lines: list[_Line]) -> float:
    """The size most of the page's characters are set in."""
    weights: Counter[float] = Counter()
    for line in lines:
        for size, part in zip(line.sizes, line.parts, strict=True):
            weights[round(size, 1)] += len(part.strip())
    return weights.most_common(1)[0][0] if weights else 0.0


def _breaks(previous: _Line, line: _Line) -> bool:
    size = max(*previous.sizes, *line.sizes)
    gap = previous.y - line.y
    if abs(gap) <= SAME_LINE * size:
        return False  # further along the same line (a table's next column)
    return gap < 0 or gap > PARAGRAPH_GAP * size


def _joined(lines: list[str]) -> str:
    """Wrapped lines as one paragraph; a list item starts a line of its own."""
    out = ""
    for raw in lines:
        line = _SPACES.sub(" ", raw).strip()
        if not line:
            continue
        if _BULLET.match(line):
            out += ("\n" if out else "") + _BULLET.sub("- ", line)
        else:
            out += (" " if out else "") + line
    return out
