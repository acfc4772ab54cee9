"""Splitting a knowledge document into passages (domain.documents): where a reader would split
it, every passage bounded, nothing of the text lost, and unreadable uploads refused."""

from __future__ import annotations

import random
import re

import pytest

from domain.documents import (
    MAX_PASSAGE_CHARS,
    UnreadableDocumentError,
    decode,
    extract_text,
    split,
)

HOUSE_RULES = """# House rules

## Check-in
Check-in is from 15:00. The key box code is sent on the morning of arrival.

Late arrivals after 22:00: tell us the day before.

## Pets
Dogs up to 15 kg are welcome for 20 euros a night. Cats are not allowed.
"""


def words(text: str) -> list[str]:
    return re.findall(r"\w+", text)


def test_each_heading_starts_a_passage_and_names_it() -> None:
    passages = split(extract_text(HOUSE_RULES, "markdown"))

    assert [(p.position, p.heading) for p in passages] == [(0, "Check-in"), (1, "Pets")]
    assert passages[0].text == (
        "Check-in is from 15:00. The key box code is sent on the morning of arrival.\n"
        "Late arrivals after 22:00: tell us the day before."
    )
    assert passages[1].text.startswith("Dogs up to 15 kg")


def test_paragraphs_under_one_heading_are_joined_only_while_they_fit() -> None:
    paragraphs = [f"Paragraph {n} " + "word " * 30 for n in range(6)]
    passages = split("# Long section\n\n" + "\n\n".join(paragraphs), max_chars=400)

    assert len(passages) == 3
    assert all(p.heading == "Long section" for p in passages)
    assert all(len(p.text) <= 400 for p in passages)
    assert words(" ".join(p.text for p in passages)) == words(" ".join(paragraphs))


def test_a_paragraph_longer_than_a_passage_is_cut_at_sentence_ends() -> None:
    sentences = [
        f"Rule number {n} says something about the pool and the garden." for n in range(30)
    ]
    passages = split(" ".join(sentences), max_chars=200)

    assert len(passages) > 1
    for passage in passages:
        assert len(passage.text) <= 200
        assert passage.text.endswith(".")  # never a sentence cut in the middle
    assert words(" ".join(p.text for p in passages)) == words(" ".join(sentences))


def test_a_sentence_or_word_longer_than_a_passage_is_cut_at_the_limit() -> None:
    blob = "x" * 1500
    passages = split(f"Before. {blob} after", max_chars=MAX_PASSAGE_CHARS)

    assert all(len(p.text) <= MAX_PASSAGE_CHARS for p in passages)
    assert "".join(p.text for p in passages).count("x") == 1500


def test_random_documents_keep_every_word_within_bounds() -> None:
    generator = random.Random(7)
    vocabulary = ["pool", "towel", "breakfast", "a", "the", "Check-out", "11:00.", "euros!"]
    for _ in range(50):
        blocks = []
        for _ in range(generator.randint(1, 12)):
            if generator.random() < 0.2:
                blocks.append("## " + generator.choice(vocabulary))
            else:
                count = generator.randint(1, 200)
                blocks.append(" ".join(generator.choice(vocabulary) for _ in range(count)))
        text = "\n\n".join(blocks)
        passages = split(text, max_chars=150)
        assert all(1 <= len(p.text) <= 150 for p in passages)
        body = [b for b in blocks if not b.startswith("## ")]
        assert words(" ".join(p.text for p in passages)) == words(" ".join(body))
        assert [p.position for p in passages] == list(range(len(passages)))


def test_html_keeps_headings_and_paragraphs_and_drops_scripts_and_styles() -> None:
    html = """<html><head><title>x</title><style>p {color: red}</style></head><body>
    <h1>Menu</h1><script>alert("no")</script>
    <h2>Pasta</h2><p>Carbonara &amp; cacio e pepe,
    made fresh daily.</p><ul><li>Gluten-free on request</li><li>Vegan sauce</li></ul>
    <h2>Desserts</h2><p>Tiramis&ugrave; 6&nbsp;euros.</p></body></html>"""

    passages = split(extract_text(html, "html"))

    assert [p.heading for p in passages] == ["Pasta", "Desserts"]
    assert passages[0].text == (
        "Carbonara & cacio e pepe, made fresh daily.\n- Gluten-free on request\n- Vegan sauce"
    )
    assert passages[1].text == "Tiramisù 6 euros."
    assert "alert" not in extract_text(html, "html")
    assert "color" not in extract_text(html, "html")


def test_markdown_markup_is_removed_and_setext_headings_are_headings() -> None:
    markdown = "Parking\n=======\n\nThe **garage** is on [Via Verdi](https://maps.example/x).\n"

    [passage] = split(extract_text(markdown, "markdown"))

    assert passage.heading == "Parking"
    assert passage.text == "The garage is on Via Verdi."


def test_plain_text_hash_lines_are_headings_too() -> None:
    [first, second] = split(
        extract_text("# Wifi\nNetwork Roma, password pasta123\n\n# Bar\nOpen till 1", "text")
    )
    assert (first.heading, second.heading) == ("Wifi", "Bar")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"%PDF-1.7\n\x00\x01binary", "binary data, not text"),
        ("Caf\u00e9".encode("latin-1"), "not UTF-8 text (invalid byte at position 3)"),
    ],
)
def test_binary_or_non_utf8_bytes_are_refused_with_the_reason(data: bytes, reason: str) -> None:
    with pytest.raises(UnreadableDocumentError, match=re.escape(reason)):
        decode(data)


def test_a_byte_order_mark_is_not_text() -> None:
    assert decode("\ufeffHello".encode()) == "Hello"


@pytest.mark.parametrize(
    ("raw", "document_format"),
    [
        ("   \n\n  ", "text"),
        ("<script>var a = 1;</script><p> </p>", "html"),
        ("## \n---", "markdown"),
    ],
)
def test_a_document_without_words_is_refused(raw: str, document_format: str) -> None:
    with pytest.raises(UnreadableDocumentError, match="no text found"):
        extract_text(raw, document_format)  # type: ignore[arg-type]
