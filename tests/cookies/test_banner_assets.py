"""The shipped banner files: weight budget and what a strict CSP forbids."""

import gzip
import re
from pathlib import Path

STATIC = Path(__file__).resolve().parents[2] / "static" / "kaizen"
BUDGET_BYTES = 12 * 1024


def gzipped_size(path: Path) -> int:
    return len(gzip.compress(path.read_bytes(), compresslevel=9))


def test_banner_js_and_css_together_fit_in_12_kb_gzipped():
    total = gzipped_size(STATIC / "banner.js") + gzipped_size(STATIC / "banner.css")

    assert total <= BUDGET_BYTES, f"{total} bytes gzipped"


def test_banner_needs_no_eval_and_injects_no_inline_styles():
    source = (STATIC / "banner.js").read_text()

    for forbidden in (
        r"\beval\(",
        r"new Function",
        r"setTimeout\(\s*[\"']",
        r"innerHTML",
        r"document\.write",
        r"setAttribute\(\s*[\"']style",
        r"\.style\.cssText",
        r"createElement\(\s*[\"']style",
    ):
        assert not re.search(forbidden, source), forbidden


def test_banner_talks_to_no_host_but_its_own_api():
    source = (STATIC / "banner.js").read_text()

    assert not re.findall(r"https?://", source.split("\n", 1)[1])
