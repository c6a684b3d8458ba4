"""The browsable report: one self-contained HTML page, checked in a real headless browser."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

from seedstudy import PROJECT_ROOT
from seedstudy.report.html import output_html, write_html

EXECUTED = PROJECT_ROOT / "paper" / "runs" / "quick" / "paper.ipynb"  # the committed study's report notebook
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
PROBE = """<script>
window.addEventListener("load", () => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left + window.scrollX, r.top + window.scrollY, r.width, r.height]; };
  const table = document.querySelector("table"), img = document.querySelector("img");
  document.body.setAttribute("data-probe", JSON.stringify({
    table: box(table), rows: table.rows.length, header: table.rows[0].innerText,
    img: box(img), decoded: img.complete && img.naturalWidth > 0,
    remote: [...document.querySelectorAll("[src],[href]")].map(e => e.src || e.href)
                .filter(u => /^https?:/.test(u))}));
});
</script>
"""


def _browser() -> str:
    """A headless Chromium from the OS packages (CI installs one and requires it)."""
    found = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if found is None:
        if os.environ.get("SEEDSTUDY_REQUIRE_BROWSER"):
            pytest.fail("no chromium on PATH, but SEEDSTUDY_REQUIRE_BROWSER is set (.ci/run installs it)")
        pytest.skip("no chromium here (apt-get install chromium)")
    return found


def _chromium(browser: str, *args: str) -> str:
    """Run headless Chromium (no sandbox: CI runs as root), return its stdout."""
    out = subprocess.run([browser, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                          "--force-device-scale-factor=1", "--virtual-time-budget=10000", *args],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


def test_printed_markdown_tables_become_tables_and_text_stays_text():
    text = "A = 'x' (3 runs)\n  glue-rte: same\n| a | b |\n|:--|--:|\n| 1 | 2 |\n\nafter <b>\n"
    out = output_html(text)
    cells = re.findall(r"<t[hd][^>]*>([^<]*)</t[hd]>", out)
    assert out.count("<table>") == 1 and cells == ["a", "b", "1", "2"]
    assert out.startswith("<pre>A = &#x27;x&#x27; (3 runs)\n  glue-rte: same</pre>")
    assert out.endswith("<pre>\nafter &lt;b&gt;</pre>")


def test_the_page_is_self_contained(tmp_path):
    page = write_html(EXECUTED, tmp_path / "report.html", "quick").read_text()
    assert not re.findall(r'(?:src|href)="https?://', page)  # no CDN script, no remote stylesheet
    assert page.count("<table>") >= 10 and page.count('src="data:image/png;base64,') >= 5
    assert "find_runs(" not in page  # code cells are hidden


def test_a_real_browser_shows_the_first_table_and_the_first_figure(tmp_path):
    from matplotlib.image import imread

    browser = _browser()
    page = write_html(EXECUTED, tmp_path / "report.html", "quick")
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(page.read_text().replace("</body>", PROBE + "</body>"))
    dom = _chromium(browser, "--window-size=1200,1600", "--dump-dom", probe_page.as_uri())
    probe = json.loads(re.search(r'data-probe="([^"]*)"', dom).group(1).replace("&quot;", '"'))
    assert probe["remote"] == [] and probe["decoded"] and probe["rows"] >= 3
    assert probe["header"].split("\t")[:3] == ["Task", "Model", "Metric"]
    (tx, ty, tw, th), (ix, iy, iw, ih) = probe["table"], probe["img"]
    assert tw > 300 and th > 40 and iw > 300 and ih > 150  # laid out at a readable size
    height = int(iy + ih + 40)
    shot = tmp_path / "shot.png"
    _chromium(browser, f"--window-size=1200,{height}", f"--screenshot={shot}", page.as_uri())
    pixels = imread(shot)[..., :3]
    assert pixels.shape[:2] == (height, 1200)

    def region(x, y, w, h):
        return pixels[int(y):int(y + h), int(x):int(x + w)]

    table, figure = region(tx, ty, tw, th), region(ix, iy, iw, ih)
    ink = lambda part: float(np.mean(part.mean(axis=2) < 0.5))  # dark pixels: text, lines, markers
    assert 0.02 < ink(table) < 0.6  # the table's text is drawn there
    assert ink(figure) > 0.01 and len(np.unique(figure.reshape(-1, 3), axis=0)) > 50  # a plot, in colour
    beside = region(tx + tw + 20, ty, 1180 - (tx + tw + 20), th)
    assert beside.size and ink(beside) < 0.01  # the ink is the table's: the page beside it is blank
