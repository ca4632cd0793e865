"""Peak resident memory (VmHWM) of every notebook kernel and every dashboard kernel.

Binder-style services give a session 1-2 GB; the target is **2 GiB** per kernel.

* Notebooks: each numbered notebook runs with papermill on the demo, in order,
  in a run directory of its own (``--work``, default ``benchmarks/.cache/memory``),
  with one cell added at its end that prints the kernel's ``VmHWM`` from
  ``/proc/self/status`` (the peak resident set over the kernel's life) and
  the largest peak of the processes it ran (``RUSAGE_CHILDREN``: notebook
  04 trains each cell line in a ``speid`` process of its own).
* Dashboards: voila (``scripts/serve_dashboards.sh``) serves both dashboards
  over ``--runs-root`` (default: an empty folder, so they open the committed
  example run, as on a fresh clone); headless Chromium opens each, and opens
  a pair's attribution (predictions) or a kernel's detail (motifs), as a
  user does; then the ``VmHWM`` of the page's kernel is read from ``/proc``.
  The example run's ``dataset.h5`` must be there for the attribution
  (``scripts/make_example_run.py --dataset-only``).

    .venv/bin/python benchmarks/bench_memory.py                 # all; long (the demo notebooks)
    .venv/bin/python benchmarks/bench_memory.py --skip-notebooks  # dashboards only, minutes

Prints one line per kernel and writes ``WORK/memory.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from speidlib.app.notebooks import NOTEBOOKS, notebook_parameters, notebook_path  # noqa: E402

LIMIT_KB = 2 * 1024 * 1024          # 2 GiB
PEAK_CELL = ("import re as _re, resource as _resource\n"
             "print('SPEID_VMHWM_KB', _re.search(r'VmHWM:\\s+(\\d+)', open('/proc/self/status').read()).group(1))\n"
             "print('SPEID_CHILD_MAXRSS_KB', _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss)")
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
WAIT_MS = 300_000


def vmhwm_kb(pid: int) -> int:
    """``VmHWM`` of a live process, in kB."""
    return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{pid}/status").read_text()).group(1))


def notebook_peaks(work: Path, names) -> dict:
    """Run ``names`` in order with papermill; notebook -> (peak kB, seconds, largest child's peak kB)."""
    import nbformat
    import papermill

    run, demo = work / "run", work / "demo"
    out_dir = work / "executed"
    out_dir.mkdir(parents=True, exist_ok=True)
    peaks = {}
    for name in names:
        nb = nbformat.read(notebook_path(name, ROOT), as_version=4)
        nb.cells.append(nbformat.v4.new_code_cell(PEAK_CELL))
        source = out_dir / f".{name}.input.ipynb"
        nbformat.write(nb, source)
        declared = notebook_parameters(name, ROOT)
        given = {"run_dir": str(run), "demo_dir": str(demo), "run_prefix": str(run)}
        t0 = time.perf_counter()
        papermill.execute_notebook(str(source), str(out_dir / f"{name}.ipynb"), cwd=str(ROOT),
                                   parameters={k: v for k, v in given.items() if k in declared},
                                   progress_bar=False)
        seconds = time.perf_counter() - t0
        done = nbformat.read(out_dir / f"{name}.ipynb", as_version=4)
        text = "".join(o.get("text", "") for o in done.cells[-1].get("outputs", []))
        child = int(re.search(r"SPEID_CHILD_MAXRSS_KB (\d+)", text).group(1))
        peaks[name] = (int(re.search(r"SPEID_VMHWM_KB (\d+)", text).group(1)), round(seconds, 1), child)
        print(f"notebook  {name:<22} peak {peaks[name][0] / 2**20:5.2f} GiB  ({seconds:6.0f} s; "
              f"largest child process {child / 2**20:4.2f} GiB)", flush=True)
    return peaks


def _kernels() -> set[int]:
    found = set()
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if b"ipykernel_launcher" in (proc / "cmdline").read_bytes():
                    found.add(int(proc.name))
            except OSError:
                pass
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dashboard_peaks(runs_root: Path, log_path: Path) -> dict:
    """Open both dashboards as a user does; dashboard -> peak kB of its kernel."""
    from playwright.sync_api import expect, sync_playwright

    port = _free_port()
    env = dict(os.environ, SPEID_RUNS_ROOT=str(runs_root), TF_CPP_MIN_LOG_LEVEL="2")
    with open(log_path, "w") as log:
        voila = subprocess.Popen(["bash", str(ROOT / "scripts" / "serve_dashboards.sh"), str(runs_root),
                                  str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True)
    peaks = {}
    try:
        deadline = time.monotonic() + 180
        while "predictions: http" not in log_path.read_text():
            if voila.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"voila did not start:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for name, act in (("predictions", _open_pair), ("motifs", _open_kernel)):
                before = _kernels()
                page = browser.new_page(viewport={"width": 1400, "height": 2400})
                page.goto(f"http://127.0.0.1:{port}/voila/render/{name}.ipynb", timeout=WAIT_MS)
                expect(page.locator(".speid-count")).not_to_have_text("", timeout=WAIT_MS)
                what = act(page, expect)
                mine = _kernels() - before
                peaks[name] = (max(vmhwm_kb(k) for k in mine), what)
                print(f"dashboard {name:<22} peak {peaks[name][0] / 2**20:5.2f} GiB  ({what})", flush=True)
                page.close()
            browser.close()
    finally:
        os.killpg(voila.pid, signal.SIGTERM)
        voila.wait(timeout=60)
    return peaks


def _open_pair(page, expect) -> str:
    page.locator(".speid-pair select").select_option(index=1)
    detail = page.locator(".speid-detail-figure .jp-RenderedPlotly")
    try:
        expect(detail).to_contain_text("gradient_x_input", timeout=WAIT_MS)
        return "after one pair's attribution"
    except AssertionError:
        return "a pair opened, no attribution shown: " + page.locator(".speid-detail").inner_text()[:160]


def _open_kernel(page, expect) -> str:
    page.locator(".speid-kernel select").select_option(index=1)
    expect(page.locator("img.speid-logo")).to_be_visible(timeout=WAIT_MS)
    expect(page.locator(".speid-activations .jp-RenderedPlotly")).to_contain_text(
        "largest activation per window", timeout=WAIT_MS)
    return "after one kernel's detail"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", default=str(ROOT / "benchmarks" / ".cache" / "memory"))
    parser.add_argument("--notebooks", default=",".join(NOTEBOOKS), help="comma-separated, in order")
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--skip-dashboards", action="store_true")
    parser.add_argument("--runs-root", default=None,
                        help="runs root the dashboards browse (default: an empty folder: the example run)")
    args = parser.parse_args(argv)
    work = Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    result = {"limit_kb": LIMIT_KB, "cpus": os.cpu_count(), "notebooks": {}, "dashboards": {}}
    if not args.skip_notebooks:
        result["notebooks"] = notebook_peaks(work, [n for n in args.notebooks.split(",") if n])
    if not args.skip_dashboards:
        root = Path(args.runs_root).resolve() if args.runs_root else Path(tempfile.mkdtemp(prefix="empty_runs_"))
        result["dashboards"] = dashboard_peaks(root, work / "voila.log")
    (work / "memory.json").write_text(json.dumps(result, indent=1) + "\n")
    over = [k for part in ("notebooks", "dashboards") for k, v in result[part].items() if v[0] > LIMIT_KB]
    print(f"kernels over 2 GiB: {', '.join(over) or 'none'}; {work / 'memory.json'}")


if __name__ == "__main__":
    main()
