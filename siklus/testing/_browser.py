"""Open an HTML page in a real headless browser and report what it rendered.

siklus writes self-contained HTML reports (profiles, run comparisons, monitoring
violations, lineage graphs). Checking their text proves little about what a person
sees; :func:`browser_probe` loads the page in headless Chromium, lets it run, and returns
layout facts measured by the browser itself: the size of every chart, the visible text,
broken images and any script error. Tests are skipped, with how to install Chromium, where
no browser exists (``scripts/ensure-chromium.sh`` installs it on CI).
"""

from __future__ import annotations

import html as html_lib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

_BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

# Runs first: records every error and rejected promise, so the probe can report them.
_TRAP = """<script>window.__siklusErrors=[];
window.addEventListener('error',function(e){window.__siklusErrors.push(String(e.message||
(e.target&&e.target.outerHTML&&('failed to load '+e.target.outerHTML.slice(0,120)))))},true);
window.addEventListener('unhandledrejection',function(e){window.__siklusErrors.push(
'unhandled rejection: '+String(e.reason))});</script>"""

# Runs after the page's own scripts: measures what the browser laid out.
_PROBE = """<script>window.addEventListener('load',function(){setTimeout(function(){
function box(el){var r=el.getBoundingClientRect();return {width:r.width,height:r.height}}
var out={title:document.title,
 text:document.body?document.body.innerText:'',
 svgs:Array.from(document.querySelectorAll('svg')).filter(function(s){return !s.closest('svg svg')})
   .map(function(s){var b=box(s);
     b.shapes=s.querySelectorAll('path,line,polyline,polygon,rect,circle,text').length;return b}),
 images:Array.from(document.images).map(function(i){
   return {width:i.naturalWidth,height:i.naturalHeight,complete:i.complete}}),
 canvases:Array.from(document.querySelectorAll('canvas')).map(box),
 bodyWidth:document.body?document.body.scrollWidth:0,
 errors:window.__siklusErrors};
var pre=document.createElement('pre');pre.id='siklus-probe';pre.textContent=JSON.stringify(out);
document.body.appendChild(pre);},50)});</script>"""


def find_browser() -> str | None:
    """Path of a Chromium-family browser, or None."""
    override = os.environ.get("SIKLUS_TEST_BROWSER")
    if override:
        return override
    for name in _BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    return None


def _inject(page: str) -> str:
    head = re.search(r"<head[^>]*>", page, re.I)
    page = page[: head.end()] + _TRAP + page[head.end() :] if head else _TRAP + page
    end = page.lower().rfind("</body>")
    return page[:end] + _PROBE + page[end:] if end >= 0 else page + _PROBE


def browser_probe(path: str | os.PathLike[str], *, timeout: float = 60.0) -> dict[str, Any]:
    """Render ``path`` in headless Chromium; return what it laid out.

    Returns a dict with ``title``, ``text`` (the visible text), ``svgs`` (width, height
    and number of shapes of each top-level SVG), ``images`` (natural size, loaded),
    ``canvases``, ``bodyWidth`` and ``errors`` (script errors and failed loads).
    The page is copied with two small scripts added (an error trap first, a probe last);
    the original file is not touched. Network access is blocked by the browser flags,
    so a page that needs the network shows it as failed loads.
    """
    browser = find_browser()
    if browser is None:
        pytest.skip(
            "no headless browser: apt-get install chromium (scripts/ensure-chromium.sh), "
            "or set SIKLUS_TEST_BROWSER to a Chromium binary"
        )
    source = Path(path).read_text(encoding="utf-8")
    with tempfile.TemporaryDirectory(prefix="siklus-browser-") as scratch:
        copy = Path(scratch) / "page.html"
        copy.write_text(_inject(source), encoding="utf-8")
        command = [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-extensions",
            "--disable-background-networking",
            "--proxy-server=127.0.0.1:9",  # nothing outside the page loads
            f"--user-data-dir={Path(scratch) / 'profile'}",
            "--window-size=1280,2000",
            "--virtual-time-budget=5000",
            "--dump-dom",
            copy.as_uri(),
        ]
        result = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    found = re.search(r'<pre id="siklus-probe">(.*?)</pre>', result.stdout, re.S)
    if found is None:
        raise AssertionError(
            f"the browser did not finish loading {path} (exit {result.returncode}); "
            f"stderr: {result.stderr[-2000:]}"
        )
    return dict(json.loads(html_lib.unescape(found.group(1))))
