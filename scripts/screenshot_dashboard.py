"""The README's picture: a dashboard on the committed example run, in Debian's headless Chromium.

Serves the dashboards as a fresh clone sees them (an empty runs root, so they
open ``examples/demo_cpu``) with ``scripts/serve_dashboards.sh``, waits until
the dashboard's figure is drawn, and writes the page from its top to the
bottom of that figure as a palette PNG (kept under 150 KB) to
``docs/images/dashboard_<name>.png``.

Run: ``.venv/bin/python scripts/screenshot_dashboard.py [--dashboard links|predictions] [--width 1280]``
"""
from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from PIL import Image
from playwright.sync_api import expect, sync_playwright

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
MAX_BYTES = 150_000
# the figure each dashboard draws last, and the text it holds once drawn
FIGURE = {"predictions": (".speid-roc .jp-RenderedPlotly", "AUROC"),
          "links": (".speid-links-figure .jp-RenderedPlotly", "")}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _palette_png(png: bytes, colours: int = 128) -> bytes:
    """The screenshot with at most ``colours`` colours (a dashboard has few), as PNG bytes."""
    image = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=colours, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dashboard", choices=sorted(FIGURE), default="links")
    parser.add_argument("--out", default=None, help="default: docs/images/dashboard_<name>.png")
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    out = Path(args.out or ROOT / "docs" / "images" / f"dashboard_{args.dashboard}.png")
    port = _free_port()
    with tempfile.TemporaryDirectory() as empty, open(Path(empty) / "voila.log", "w+") as log:
        env = {k: v for k, v in os.environ.items() if k != "SPEID_EXAMPLE_RUNS"}
        proc = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve_dashboards.sh"), empty, str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + 180
            while "predictions: http" not in Path(log.name).read_text():
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"voila did not start:\n{Path(log.name).read_text()[-2000:]}")
                time.sleep(0.5)
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                page = browser.new_page(viewport={"width": args.width, "height": 900})
                page.route("**/*fontawesome*", lambda route: route.fulfill(status=200, body="",
                                                                           content_type="text/css"))
                page.goto(f"http://127.0.0.1:{port}/voila/render/{args.dashboard}.ipynb", timeout=240_000)
                selector, text = FIGURE[args.dashboard]
                figure = page.locator(selector)
                expect(figure).to_contain_text(text, timeout=240_000)
                time.sleep(2)   # plotly's last transition
                box = figure.bounding_box()
                png = page.screenshot(full_page=True, clip={"x": 0, "y": 0, "width": args.width,
                                                            "height": box["y"] + box["height"] + 16})
                browser.close()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=60)
    data = _palette_png(png)
    if len(data) > MAX_BYTES:
        data = _palette_png(png, colours=48)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"wrote {out} ({len(data) / 1000:.0f} KB, {Image.open(io.BytesIO(data)).size})")


if __name__ == "__main__":
    main()
