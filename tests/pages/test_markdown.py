"""User Markdown is cleaned on the server to formatted text (pages/components/markdown.py): what a
briefing or a debrief may hold reaches the page without styling, active or embedding markup. The same
payloads run in Chromium in tests/e2e/test_markdown_sweep.py."""

from __future__ import annotations

import re

from pages.components.markdown import ALLOWED_TAGS, to_safe_html
from tests.e2e.test_markdown_sweep import PAYLOADS


def test_every_payload_leaves_only_formatted_text():
    for payload in PAYLOADS:
        html = to_safe_html(f"Before\n\n{payload}\n\nAfter")
        tags = set(re.findall(r"<\s*([a-zA-Z0-9]+)", html))
        assert tags <= ALLOWED_TAGS, (payload, html)
        for forbidden in ("style", "class=", "id=", "src=", "background", "poster", "@import", "url(", "on"):
            assert not re.search(rf"<[^>]*\b{re.escape(forbidden)}", html), (payload, forbidden, html)
        assert "javascript:" not in html and "data:" not in html, (payload, html)
        assert "Before" in html and "After" in html  # the text around it survives


def test_formatting_and_safe_links_survive():
    html = to_safe_html("# Title\n\nThe **board** meets at *nine*.\n\n- one\n- two\n\n[site](https://example.com/x)")
    assert "<h1>Title</h1>" in html and "<strong>board</strong>" in html and "<em>nine</em>" in html
    assert "<li>one</li>" in html
    assert '<a href="https://example.com/x" rel="noopener noreferrer nofollow">site</a>' in html


def test_style_contents_are_dropped_not_shown_as_text():
    html = to_safe_html("<style>.q-page-container::after{content:'Session expired'}</style>Hello")
    assert "Session expired" not in html and "q-page-container" not in html and "Hello" in html


def test_a_refused_link_keeps_its_text_but_is_no_link():
    html = to_safe_html("[click me](javascript:alert(1)) and <a href='data:text/html,x'>this</a>")
    assert "<a" not in html and "click me" in html and "this" in html
