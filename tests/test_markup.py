from __future__ import annotations

import pytest

from flows.markup import one_line, one_lines, plain_text, safe_html


@pytest.mark.parametrize(
    "fragment, shown",
    [
        ("<i>Mitragyna speciosa</i> use", "<i>Mitragyna speciosa</i> use"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ('<img src=x onerror="alert(1)">', "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;"),
        ('<i onclick="x()">a</i>', "&lt;i onclick=&#34;x()&#34;&gt;a</i>"),
        ("r<sup>2</sup> &amp; p", "r<sup>2</sup> &amp; p"),
    ],
)
def test_only_inline_tags_render(fragment, shown):
    assert str(safe_html(fragment)) == shown


def test_plain_text_drops_inline_tags_and_decodes():
    assert plain_text("<i>M. speciosa</i> &amp; r<sup>2</sup>&lt;1") == "M. speciosa & r2<1"


ODD_TEXTS = [
    "already one line",
    " leading",
    "trailing ",
    "two  spaces",
    "a\nnewline",
    "a\r\nforged\r\nER  - line",
    "tab\there",
    "no-break\u00a0space",
    "line\u2028separator",
    "ideographic\u3000space",
    "\x1cfile separator",
    "\x07bell stays",
    "",
    None,
]


@pytest.mark.parametrize("text", ODD_TEXTS)
def test_one_line_collapses_every_whitespace_as_str_split_does(text):
    assert one_line(text) == " ".join((text or "").split())
    assert "\n" not in one_line(text) and "\r" not in one_line(text)


@pytest.mark.parametrize("text", [t for t in ODD_TEXTS if t is not None])
@pytest.mark.parametrize(
    "around", [("", ""), ("clean", "clean"), ("a |", "| b"), ("ends ", ""), ("", " starts")]
)
def test_one_lines_is_one_line_of_each_value_among_any_neighbours(text, around):
    values = [around[0], text, around[1], "a|b"]
    assert one_lines(values) == [one_line(v) for v in values]
