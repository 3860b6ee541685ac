"""The staff pages on a phone (320 and 390 px): no sideways scrolling (WCAG 1.4.10), a focus ring that stands
out (3:1 at least against what surrounds it), French names marked as French on English pages, axe-clean."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from broker.services.stats import aggregate
from fixtures import stats as statskit
from fixtures.staff import BAYEUX, REFERENT, app_from_template, membership_id
from fixtures.stats import paris

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

#: the relative luminance contrast of the focus ring against the page around the focused element
CONTRAST_JS = """() => {
  const lum = (c) => { const m = c.match(/[\\d.]+/g).map(Number);
    const ch = m.slice(0, 3).map(v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2]; };
  const el = document.activeElement; const s = getComputedStyle(el);
  let bg = 'rgb(255, 255, 255)';
  for (let n = el.parentElement; n; n = n.parentElement) {
    const c = getComputedStyle(n).backgroundColor;
    if (c && c !== 'transparent' && !/rgba\\(.*, 0\\)$/.test(c)) { bg = c; break; } }
  const a = lum(s.outlineColor), b = lum(bg);
  return {ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05), outline: s.outlineStyle, width: s.outlineWidth,
          color: s.outlineColor, bg: bg, tag: el.tagName, text: (el.textContent || '').trim().slice(0, 40)};
}"""


@pytest.fixture
def staff_site(make_app, smtp_sink, tmp_path, staff_template, serve_app):
    app = app_from_template(make_app, staff_template, tmp_path, **smtp_sink.settings)
    app.config["TESTING"] = False
    known = statskit.ids(app)
    rows = [{"network_id": known["network"]["calvados"], "library_id": known["library"][BAYEUX],
             "supplier_id": known["supplier"][slug], "patron_key": f"{i:032x}", "at": paris(2025, 3, 4 + i),
             "outcome": "granted"} for i, slug in enumerate(("cafeyn", "pnb", "skilleos", "philharmonie"))]
    statskit.insert_events(app, rows)
    aggregate(app.extensions["broker"])
    return app, serve_app(app)


def _log_in(page, url: str) -> None:
    page.goto(f"{url}/staff/login")
    page.get_by_label("Adresse e-mail").fill(REFERENT[0])
    page.get_by_label("Mot de passe").fill(REFERENT[1])
    page.keyboard.press("Enter")
    page.wait_for_url(f"{url}/staff/")


def _pages(app) -> list[str]:
    mid = membership_id(app, BAYEUX, "29001000000025")
    return ["/staff/", f"/staff/libraries/{BAYEUX}/", f"/staff/libraries/{BAYEUX}/queue",
            "/staff/patrons?q=Martin", f"/staff/memberships/{mid}", "/staff/tokens", "/staff/security",
            "/staff/stats/", f"/staff/stats/libraries/{BAYEUX}?month=2025-03",
            "/staff/stats/partners/bayeux-intercom/2025"]


def test_staff_pages_reflow_on_a_phone(staff_site, page, axe_check, screenshot):
    app, url = staff_site
    _log_in(page, url)
    wide = []
    for width in (390, 320):
        page.set_viewport_size({"width": width, "height": 800})
        for path in _pages(app):
            page.goto(url + path)
            sideways = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
            if sideways > 0:
                wide.append((width, path, sideways))
            if width == 390:
                found = axe_check(page, path)
                assert not found, f"axe-core on {path}: {[(v['id'], v['nodes']) for v in found]}"
    assert wide == [], f"pages that scroll sideways: {wide}"
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{url}/staff/stats/libraries/{BAYEUX}?month=2025-03")
    screenshot(page, "stats-390")
    page.goto(f"{url}/staff/libraries/{BAYEUX}/queue")
    screenshot(page, "queue-390")


def test_focus_ring_contrast(staff_site, page):
    app, url = staff_site
    _log_in(page, url)
    page.goto(f"{url}/staff/libraries/{BAYEUX}/")
    weak = []
    for _ in range(25):
        page.keyboard.press("Tab")
        seen = page.evaluate(CONTRAST_JS)
        if seen["tag"] == "BODY":  # past the last control: the focus is in the browser's own interface
            continue
        if seen["outline"] == "none" or seen["width"] == "0px" or seen["ratio"] < 3:
            weak.append(seen)
    assert weak == [], [(w["tag"], w["text"], w["outline"], round(w["ratio"], 2)) for w in weak]


def test_french_names_are_marked_french_on_english_pages(staff_site, page):
    app, url = staff_site
    _log_in(page, url)
    page.goto(f"{url}/staff/stats/libraries/{BAYEUX}?month=2025-03&lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    names = page.locator('[lang="fr"]')
    texts = " | ".join(names.all_inner_texts())
    assert "Médiathèque Les 7 Lieux" in texts and "Cafeyn" in texts, texts


def test_refusal_reason_error_in_the_error_summary(staff_site, page, axe_check):
    app, url = staff_site
    _log_in(page, url)
    member = membership_id(app, BAYEUX, "29001000000017")
    page.goto(f"{url}/staff/memberships/{member}")
    # the browser's own check is skipped, as by a browser without it: the server must say it
    page.evaluate("() => document.querySelectorAll('form').forEach(f => f.noValidate = true)")
    page.get_by_role("button", name="Suspendre l'accès").click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("link", name="Indiquez un motif.")).to_have_attribute("href", "#reason-suspend")
    expect(page.locator("#reason-suspend")).to_have_attribute("aria-invalid", "true")
    assert re.search("reason-suspend-error", page.locator("#reason-suspend").get_attribute("aria-describedby"))
    found = axe_check(page, "membership page with an error")
    assert not found, found
    summary.get_by_role("link", name="Indiquez un motif.").click()
    expect(page.locator("#reason-suspend")).to_be_focused()
