"""Every benchmark of the workbench, one command; figures and ratios measured in the same run.

    .venv/bin/python benchmarks/run_all.py [--quick] [--only train,head,score,prepare,branch]

Each benchmark runs in its own process (its memory, threads and oneDNN
settings are its own) and prints as it goes; at the end a summary sets every
figure beside its target. The figures also go to
``benchmarks/.cache/results.json`` (``results_quick.json`` with ``--quick``),
git-ignored; nothing else is written into the repository.

1. training throughput, and FLOP rate against numpy's matmul   bench_train.py
2. head retraining on cached features vs through the frozen model   bench_head.py
3. scoring with element-level caching vs per pair              bench_score.py
4. dataset build vs a straightforward loop                     bench_prepare.py
5. where the time goes, one branch, variants side by side     bench_branch.py

Numbers from a shared 2-core machine are noisy; each benchmark measures both
sides of its ratio in the same process, interleaved where it can.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CACHE = HERE / ".cache"
NOISE = re.compile(r"^(?:[IWE]\d{4} |WARNING: All log messages|To enable the following|.*cuda_|"
                   r".*oneDNN custom operations|.*cpu_feature_guard|.*Could not find cuda)")
BF16_ISA = "AVX512_CORE_BF16"   # oneDNN's AMX bf16 convolution gives wrong results here; see RESULTS.md


def machine() -> dict:
    """CPU, cores, memory, library versions, BLAS and date of this run."""
    cpu = "unknown"
    flags: list[str] = []
    try:
        text = Path("/proc/cpuinfo").read_text()
        cpu = re.search(r"model name\s*:\s*(.*)", text).group(1).strip()
        flags = re.search(r"flags\s*:\s*(.*)", text).group(1).split()
    except (OSError, AttributeError):
        pass
    mem = None
    try:
        mem = int(re.search(r"MemTotal:\s*(\d+)", Path("/proc/meminfo").read_text()).group(1)) / 2 ** 20
    except (OSError, AttributeError):
        pass
    out = {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": mem, "python": platform.python_version(),
           "cpu_features": [f for f in flags if f.startswith(("amx", "avx512_bf16", "avx512f", "avx512_vnni"))],
           "date": time.strftime("%Y-%m-%d %H:%M %Z"), "load_average_at_start": os.getloadavg()}
    code = ("import json, numpy, tensorflow as tf, keras\n"
            "from threadpoolctl import threadpool_info\n"
            "print(json.dumps({'numpy': numpy.__version__, 'tensorflow': tf.__version__, "
            "'keras': keras.__version__, 'blas': [{k: d.get(k) for k in ('internal_api', 'version', "
            "'architecture', 'num_threads')} for d in threadpool_info() if d.get('user_api') == 'blas']}))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=child_env())
    try:
        out.update(json.loads(r.stdout.strip().splitlines()[-1]))
    except (IndexError, json.JSONDecodeError):
        out["versions_error"] = r.stderr[-500:]
    try:
        out["git_commit"] = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                           text=True).stdout.strip()
    except OSError:
        pass
    return out


def child_env(**extra) -> dict:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", **extra)
    # OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, where this machine sets them, slow a current
    # numpy's matmul: the benchmark measures the rate the CPU can give (both unset together).
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(k, None)
    return env


def run_child(script: str, args: list[str], timeout: int, env_extra: dict | None = None) -> dict:
    """Run one benchmark script, echo its output (less TF's log noise), return its JSON and text."""
    fd, path = tempfile.mkstemp(suffix=".json", prefix="bench_")
    os.close(fd)
    cmd = [sys.executable, str(HERE / script), *args]
    if script != "bench_prepare.py":
        cmd += ["--json", path]
    t0 = time.perf_counter()
    lines: list[str] = []
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=child_env(**(env_extra or {})))
    try:
        deadline = time.monotonic() + timeout
        for line in proc.stdout:
            line = line.rstrip("\n")
            if not NOISE.match(line) and "retracing" not in line:
                print(line, flush=True)
                lines.append(line)
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(cmd, timeout)
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        print(f"   !! {script} stopped after {timeout} s", flush=True)
        return {"error": f"timed out after {timeout} s", "output": lines}
    result: dict = {"output": lines, "seconds": time.perf_counter() - t0, "returncode": proc.returncode}
    if proc.returncode:
        result["error"] = f"exit status {proc.returncode}"
    try:
        if os.path.getsize(path):
            result["figures"] = json.loads(Path(path).read_text())
    finally:
        os.unlink(path)
    return result


def _prepare_figures(lines: list[str]) -> dict:
    """Speed-up and peak memory from bench_prepare.py's printed lines."""
    text = "\n".join(lines)
    out = {}
    m = re.search(r"speed-up\s+([\d.]+)x", text)
    if m:
        out["speedup"] = float(m.group(1))
    m = re.search(r"prepare\s+([\d.]+) s\s+peak ([\d.]+) GiB\n\s+naive loop\s+([\d.]+) s\s+peak ([\d.]+) GiB", text)
    if m:
        out.update(prepare_s=float(m.group(1)), prepare_peak_gib=float(m.group(2)),
                   naive_s=float(m.group(3)), naive_peak_gib=float(m.group(4)))
    return out


def summary(results: dict) -> list[str]:
    """One line per target: measured figure, target, met or missed (and by how much)."""
    rows = []

    def row(name, value, target, higher=True, fmt="{:.2f}"):
        if value is None:
            rows.append(f"   {name:58s} not measured")
            return
        met = value >= target if higher else value <= target
        how = "met" if met else (f"MISSED by {abs(value - target) / target:.0%}")
        rows.append(f"   {name:58s} {fmt.format(value):>8s}  target {'>=' if higher else '<='} "
                    f"{fmt.format(target)}  {how}")

    def fig(key, *path):
        d = results.get(key, {}).get("figures")
        for p in path:
            if d is None:
                return None
            d = d[p] if isinstance(d, dict) and p in d else (d[p] if isinstance(d, list) and
                                                              isinstance(p, int) and p < len(d) else None)
        return d

    models = fig("train", "models") or {}
    if models:
        for n in models:
            if n != "naive":
                row(f"1. training, {n} / naive port (samples/s ratio)",
                    models[n]["samples_per_s"] / models["naive"]["samples_per_s"], 1.3, fmt="{:.2f}x")
        for n in models:
            row(f"1. training FLOP rate / numpy matmul rate, {n}", models[n]["fraction_of_matmul"], 0.35)
    row("2. head retraining per epoch, cached / through frozen", fig("head", "speedup_per_epoch"), 30,
        fmt="{:.0f}x")
    for r in fig("score") or []:
        chrom = "all pairs" if r["chromosomes"] == "all" else "+".join(r["chromosomes"])
        row(f"3. scoring {r['preset']} ({chrom}), cached / per pair", r["speedup"], 1.5, fmt="{:.2f}x")
        row(f"3.   largest |score difference| ({r['preset']}, {chrom})", r["max_abs_difference"], 1e-5,
            higher=False, fmt="{:.1e}")
    prep = results.get("prepare", {}).get("figures", {})
    row("4. dataset build, prepare / naive loop", prep.get("speedup"), 2, fmt="{:.2f}x")
    row("4. prepare peak memory (GiB)", prep.get("prepare_peak_gib"), 0.5, higher=False)
    return rows


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description="Run every benchmark; print figures and ratios.")
    p.add_argument("--quick", action="store_true", help="fewer steps and smaller pair sets (about 10 min)")
    p.add_argument("--only", default="train,head,score,prepare,branch",
                   help="comma-separated subset of train, head, score, prepare, branch")
    a = p.parse_args(argv)
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    q = ["--quick"] if a.quick else []
    info = machine()
    print(f"Machine: {info['cpu']}, {info['cores']} cores, {info.get('memory_gib') or 0:.0f} GiB; "
          f"TensorFlow {info.get('tensorflow')}, Keras {info.get('keras')}, numpy {info.get('numpy')}; "
          f"BLAS {info.get('blas')}; {info['date']}; load average {info['load_average_at_start'][0]:.1f}",
          flush=True)
    results: dict = {"machine": info, "quick": a.quick, "command": " ".join([Path(sys.executable).name,
                                                                              "benchmarks/run_all.py", *sys.argv[1:]])}
    plan = {
        "train": ("1. Training throughput (paper preset sizes)", "bench_train.py", q, 1500, None),
        "head": ("2. Head retraining", "bench_head.py", q, 900, None),
        "score": ("3. Scoring with element-level caching", "bench_score.py", q, 1800, None),
        "prepare": ("4. Dataset build", "bench_prepare.py", [], 900, None),
        "branch": ("5. Where the time goes (enhancer branch)", "bench_branch.py", q, 900, None),
        "branch_bf16": ("5b. mixed bfloat16, oneDNN capped at AVX512_CORE_BF16 (no AMX)", "bench_branch.py",
                        q + ["--bf16"], 600, {"ONEDNN_MAX_CPU_ISA": BF16_ISA}),
        "branch_bf16_amx": ("5c. mixed bfloat16, oneDNN default ISA (AMX)", "bench_branch.py",
                            ["--quick", "--bf16"], 600, None),
    }
    for key, (title, script, args, timeout, env) in plan.items():
        if key.split("_")[0] not in only:
            continue
        print(f"\n== {title}: {script} {' '.join(args)}", flush=True)
        results[key] = run_child(script, args, timeout, env)
        if key == "prepare":
            results[key]["figures"] = _prepare_figures(results[key]["output"])
    print("\n== Summary (every figure measured in this run)")
    lines = summary(results)
    print("\n".join(lines))
    results["summary"] = lines
    CACHE.mkdir(exist_ok=True)
    out = CACHE / ("results_quick.json" if a.quick else "results.json")
    tmp = out.with_suffix(".tmp")
    tmp.write_text(json.dumps(results, indent=1, default=float))
    os.replace(tmp, out)
    print(f"\nfigures written to {out.relative_to(ROOT)}")
    return results


if __name__ == "__main__":
    main()
