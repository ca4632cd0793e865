"""Atomic writes, the one decision of where an output goes, and small file helpers.

Every file the workbench writes goes through :func:`atomic_path` (directly or
through :func:`open_output`), and so through :func:`output_target`: what is at
the output path must be a regular file or nothing (a device, FIFO, socket or
folder is refused, never replaced), and a symbolic link is written through, to
its target, by an atomic rename in the target's folder; the link stays.
:func:`check_outputs` is the one comparison of a command's outputs with its
inputs (by resolved path and by file identity) and with existing files
(refused without ``--overwrite``). :func:`open_text` reads every text input,
plain or gzip, past a UTF-8 byte-order mark. ``docs/refusals.md`` lists the
refusals.
"""
from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import re
import stat
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path

#: the output path that means the standard output (where a command writes a table)
STDOUT = "-"

_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
          (stat.S_ISSOCK, "a socket"))


def _node_kind(mode: int) -> str:
    return next((what for test, what in _KINDS if test(mode)), "not a regular file")


def output_target(path: str | os.PathLike) -> Path:
    """The file a writer of ``path`` must replace: ``path``, or a symbolic link's target.

    Raises ValueError (one line) when something other than a regular file is
    at ``path`` or at the end of its links: a folder, a FIFO, a device (a copy
    of ``/dev/null``, a link to ``/proc/self/fd/1``) or a socket. Writers never
    replace such a node, nor a link: they write the link's target.
    """
    path = Path(path)
    try:
        st = os.stat(path)  # follows links
    except FileNotFoundError:
        st = None
    except OSError as e:  # a loop of links, a path through a file, ...
        raise ValueError(f"cannot write {path}: {e.strerror or e}") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        where = "" if not path.is_symlink() else f" (a link to {os.readlink(path)})"
        raise ValueError(f"{path}{where} is {_node_kind(st.st_mode)}, not a regular file: refusing to "
                         "replace it; give a file path (or - for the standard output where a table is written)")
    if path.is_symlink():
        return Path(os.path.realpath(path))  # write the target, keep the link
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = ""):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    A crash or exception inside the block leaves ``path`` as it was and
    removes the temporary file, so no later step ever reads a half-written
    artifact. What is at ``path`` is decided by :func:`output_target`: a
    non-regular file is refused, a symbolic link is written through (the
    temporary file is made beside its target). ``suffix`` ends the temporary name, for
    writers that want one (Keras saves ``.keras`` and ``.weights.h5`` files only).
    """
    path = output_target(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp" + suffix, dir=path.parent)
    os.close(fd)
    os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual file mode
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def remove_stray_temporaries(path: str | os.PathLike) -> list[Path]:
    """Remove the temporary files that crashed writers of ``path`` left beside it.

    :func:`atomic_path` names them ``.<name>.<pid>.<random>.tmp[<suffix>]``; those of a
    process that no longer runs (or without a pid, from older versions) are
    removed, those of a live process (a concurrent writer) are kept.

    Returns the paths removed.
    """
    path = Path(path)
    removed = []
    name = re.escape(path.name)
    ours = re.compile(rf"\.{name}\.(\d+)\.[a-z0-9_]{{8}}\.tmp(?:\..+)?")   # .<name>.<pid>.<random>.tmp[.sfx]
    older = re.compile(rf"\.{name}\.[a-z0-9_]{{8}}\.tmp")          # before pids were in the name
    try:
        candidates = list(path.parent.iterdir())
    except OSError:
        return removed
    for p in candidates:
        m = ours.fullmatch(p.name)
        if m is None and older.fullmatch(p.name) is None:
            continue
        if m is not None and (int(m.group(1)) == os.getpid() or alive(int(m.group(1)))):
            continue
        with contextlib.suppress(OSError):
            p.unlink()
            removed.append(p)
    return removed


def alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def atomic_write_json(path: str | os.PathLike, obj) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=_json_default) + "\n")


@contextlib.contextmanager
def open_output(path: str | os.PathLike, compress: bool | None = None):
    """A text stream to write a table to: ``-`` is the standard output, anything else a file
    written atomically (:func:`atomic_path`, so :func:`output_target` decides what is replaced).

    ``compress`` (default: the name ends in ``.gz``) writes a file gzip-compressed; the
    standard output is always plain text.
    """
    if str(path) == STDOUT:
        yield sys.stdout
        sys.stdout.flush()
        return
    compress = str(path).endswith(".gz") if compress is None else compress
    with atomic_path(path) as tmp, (gzip.open(tmp, "wt") if compress else open(tmp, "w")) as fh:
        yield fh


def open_text(path: str | os.PathLike) -> io.TextIOBase:
    """Open a text input for reading: plain or gzip (told by its first bytes), UTF-8, past a
    byte-order mark at the start (a BED or BEDPE saved by a spreadsheet starts with one)."""
    with open(path, "rb") as fh:
        gz = fh.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt", encoding="utf-8-sig") if gz else open(path, encoding="utf-8-sig")


def _same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file: the same resolved path, or the same inode (a hard link)."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def check_outputs(outputs: Mapping, inputs: Mapping, overwrite: bool = False, owned=()) -> None:
    """Refuse a command's outputs before anything is written; the one comparison every command uses.

    Parameters
    ----------
    outputs : option -> output path, or a list of paths (e.g. ``{"--out": "x.bedpe"}``,
        ``{"--out-dir": [...per-chromosome files...]}``); ``-`` (the standard output) is skipped
    inputs : option -> input path the command reads (None skipped)
    overwrite : whether an existing output may be replaced (the command's ``--overwrite``)
    owned : existing paths the workbench itself wrote there before (e.g. an earlier demo's
        files), which may be replaced without ``overwrite``

    Raises
    ------
    ValueError (one line), in this order: an output that is not a regular file
    (:func:`output_target`); an output that is one of the inputs, by resolved path or
    file identity, whatever ``overwrite`` says; an existing output without ``overwrite``.
    """
    ins = [(option, Path(p).expanduser()) for option, p in inputs.items()
           if p is not None and str(p) != STDOUT]
    outs = [(option, Path(out).expanduser()) for option, paths in outputs.items()
            for out in ([paths] if isinstance(paths, (str, os.PathLike)) else paths) if str(out) != STDOUT]
    targets = [output_target(out) for _, out in outs]
    for (option, out), target in zip(outs, targets):
        for source_option, source in ins:
            if _same_file(target, source):
                raise ValueError(f"{option} {out} is the {source_option} file this step reads: "
                                 "write the output to another file")
    if overwrite:
        return
    for (option, out), target in zip(outs, targets):
        if target.exists() and not any(_same_file(target, o) for o in owned):
            raise ValueError(f"{out} exists: pass --overwrite to replace it, or choose another {option}")


def memory_bytes() -> tuple[int, int]:
    """``(total, available)`` bytes of memory: ``/proc/meminfo`` (and a cgroup limit) where there
    are, else the physical pages."""
    total = available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    with contextlib.suppress(OSError, KeyError, ValueError):
        info = dict(line.split(":", 1) for line in Path("/proc/meminfo").read_text().splitlines())
        total, available = (int(info[k].split()[0]) * 1024 for k in ("MemTotal", "MemAvailable"))
    with contextlib.suppress(OSError, ValueError):
        limit = int(Path("/sys/fs/cgroup/memory.max").read_text().strip())  # "max" when unlimited
        total, available = min(total, limit), min(available, limit)
    return total, available


def free_disk(path: str | os.PathLike) -> int:
    """Free bytes on the file system that holds ``path`` (or its nearest existing parent)."""
    import shutil

    path = Path(path).expanduser().resolve()
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def human_bytes(n: float) -> str:
    """``1.2 MB``, ``3.4 GB``: bytes for a message (powers of 1000)."""
    for unit in ("bytes", "kB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"


def _json_default(o):
    import numpy as np

    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"cannot write {type(o).__name__} to JSON")


def sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def package_versions(names=("numpy", "pandas", "h5py", "pyfaidx", "keras", "tensorflow",
                            "scikit-learn", "pyjaspar", "memelite")) -> dict:
    """Installed versions of the packages a run depends on (None if absent), the
    workbench's own first (``speidlib``, what ``speid --version`` prints)."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("speidlib", *names):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
