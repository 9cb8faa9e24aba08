"""A crawled page's passages hold its article: steps whole and in order, sections with their anchors, and none
of the navigation, cookie banner, related links or footer around it."""

from __future__ import annotations

from pathlib import Path

from knowledge.chroma import ChromaKnowledgeBase
from knowledge.ingest import ingest_site
from knowledge.readable import parse_page
from knowledge.web import crawl
from tests.knowledge.caching_site import Site, serve

BOILERPLATE = ["cookie", "Accept all", "Billing", "Contact us", "Related articles", "All rights reserved",
               "Privacy", "Newsletter"]
STEPS = ["1. Open the sign-in page and click Forgot password.",
         "2. Enter the email address of your account.",
         "3. Open the link in the email we send you; it is valid for one hour.",
         "4. Choose a new password of at least twelve characters and confirm it."]

PAGE = """<!DOCTYPE html><html lang="en"><head><title>Reset your password | Acme Help</title>
<link rel="canonical" href="/articles/reset-password"></head><body>
<div id="cookie-banner" class="cookie-consent"><p>We use cookies to improve your experience. By continuing you
accept our cookie policy.</p><button>Accept all cookies</button></div>
<header><a href="/">Acme Help Centre</a><nav><ul><li><a href="/billing">Billing</a></li>
<li><a href="/account">Account</a></li><li><a href="/contact">Contact us</a></li></ul></nav></header>
<main><article>
<h1>Reset your password</h1>
<p>If you forgot your password you can set a new one from the sign-in page in a couple of minutes.</p>
<h2>Steps to reset it</h2>
<p>Follow these steps:</p>
<ol><li>Open the sign-in page and click <b>Forgot password</b>.</li><li>Enter the email address of your
account.</li><li>Open the link in the email we send you; it is valid for one hour.</li><li>Choose a new password of
at least twelve characters and confirm it.</li></ol>
<h2>If the email does not arrive</h2>
<p>Check your spam folder, then wait ten minutes before asking for another email. Company accounts may have a
filter that holds messages from new senders; ask your administrator to release it.</p>
<table><tr><th>Plan</th><th>Help by</th></tr><tr><td>Free</td><td>Chat</td></tr><tr><td>Pro</td><td>Phone</td></tr>
</table>
</article></main>
<aside><h3>Related articles</h3><ul><li><a href="/2fa">Two-factor authentication</a></li></ul></aside>
<footer><p>Subscribe to our Newsletter.</p><p>&copy; 2026 Acme Inc. All rights reserved.</p>
<a href="/privacy">Privacy</a> <a href="/terms">Terms</a></footer>
</body></html>"""


def test_the_main_content_keeps_headings_steps_in_order_and_tables_and_drops_the_rest() -> None:
    title, text, canonical = parse_page(PAGE, "https://help.acme.com/reset")
    assert title == "Reset your password | Acme Help" and canonical == "/articles/reset-password"
    assert "## Steps to reset it" in text and "## If the email does not arrive" in text
    assert "\n".join(STEPS) in text
    assert "Plan | Help by\nFree | Chat\nPro | Phone" in text
    assert not [b for b in BOILERPLATE if b in text]


def test_a_short_page_without_containers_keeps_its_sections() -> None:
    """trafilatura dumps such a page whole (headings lost, navigation in): the page's own text is kept."""
    page = ("<html><head><title>Refunds</title></head><body><nav><a href='/'>Home</a></nav><h1>Refunds</h1>"
            "<h2>Annual plans</h2><p>Refunded within 30 days.</p><footer>Acme Inc.</footer></body></html>")
    _, text, _ = parse_page(page, "https://help.acme.com/refunds")
    assert "## Annual plans" in text and "Home" not in text and "Acme Inc." not in text


def test_passages_of_a_crawled_page_hold_the_steps_and_cite_their_section(tmp_path: Path) -> None:
    with serve(Site()) as site:
        site.put("/reset.html", PAGE.replace('href="/articles/reset-password"', 'href="/reset.html"'))
        [document] = crawl(f"{site.base}/reset.html", max_depth=0).documents
        assert "\n".join(STEPS) in document.text and not [b for b in BOILERPLATE if b in document.text]

        kb = ChromaKnowledgeBase.persistent(str(tmp_path / "chroma"))
        ingest_site(kb, f"{site.base}/reset.html", progress=False, max_depth=0)
    [top, *_] = kb.search_sync("How do I reset my password?", k=1)
    assert "\n".join(STEPS) in top.text
    assert top.citation().link() == f"{site.base}/reset.html#steps-to-reset-it"
    stored = kb.chunks.get(include=["documents"])["documents"]
    assert not [b for b in BOILERPLATE for passage in stored if b in passage]
