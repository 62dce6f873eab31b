"""User Markdown on a page (briefings, debriefs): formatted text, never active or styling markup.

Three steps, the first two on the server:
1. `markdown2` turns the Markdown into HTML (the renderer `ui.markdown` uses, with its default extras);
2. `nh3` (the Rust sanitizer ammonia) keeps only the tags of formatted text below, with no `style`,
   `class` or `id` attribute and links to http(s) and mailto only (`rel="noopener noreferrer
   nofollow"`). The contents of `style`, `script`, `svg`, `math`, `iframe`, … go with them: an
   `@import` or a CSS rule never even reaches the page as text.
3. `ui.html(..., sanitize=True)`: NiceGUI's own client-side sanitizer (DOMPurify) stays on as a
   second layer. (NiceGUI turns it off when `sanitize` is a callable, hence the server-side cleaning
   here rather than `ui.markdown(sanitize=clean)`.)

DOMPurify alone is not enough: its defaults keep `<style>` elements, so a briefing could restyle or
cover the console for everyone who reads it and make the browser fetch remote stylesheets.
"""

from __future__ import annotations

import re

import markdown2
import nh3
from nicegui import ui

EXTRAS = ["fenced-code-blocks", "tables"]  # ui.markdown's defaults

# Formatted text only. No img (no remote fetches, no tracking pixels in a briefing), no div/span
# (nothing to hang a layout on), no form controls, no embedded documents, no SVG or MathML.
ALLOWED_TAGS = frozenset(
    {
        *("h1", "h2", "h3", "h4", "h5", "h6", "p", "br", "hr", "blockquote", "pre", "code"),
        *("strong", "b", "em", "i", "del", "s", "sub", "sup", "kbd"),
        *("ul", "ol", "li"),
        *("table", "thead", "tbody", "tr", "th", "td"),
        "a",
    }
)
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "ol": {"start"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow"
# Dropped with everything inside them (text included), not just unwrapped.
DROPPED_WITH_CONTENT = frozenset(
    {"script", "style", "svg", "math", "iframe", "object", "embed", "template", "noscript", "title", "textarea"}
)


# A link whose target was refused (javascript:, data:, …) keeps its text but not the look of a link.
# nh3 writes its output in one normal form, so an <a> left without href looks exactly like this.
_DEAD_LINK = re.compile(r'<a rel="' + LINK_REL + r'">(.*?)</a>', re.DOTALL)


def to_safe_html(text: str | None) -> str:
    """Markdown → HTML that holds formatted text and http(s)/mailto links only."""
    html = markdown2.markdown(text or "", extras=EXTRAS)
    return _DEAD_LINK.sub(r"\1", _clean(html))


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        clean_content_tags=set(DROPPED_WITH_CONTENT),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel=LINK_REL,
        strip_comments=True,
    )


class UserMarkdown(ui.html):
    """Shows user-written Markdown: cleaned on the server (`to_safe_html`), then by NiceGUI's sanitizer,
    styled like `ui.markdown` (its `nicegui-markdown` class)."""

    def __init__(self, text: str | None = "") -> None:
        super().__init__(to_safe_html(text), sanitize=True)
        self.classes("nicegui-markdown")

    def set_markdown(self, text: str | None) -> None:
        self.set_content(to_safe_html(text))


def user_markdown(text: str | None) -> UserMarkdown:
    """User Markdown onto the page (see the module's docstring for what survives)."""
    return UserMarkdown(text)
