"""Atomic writes and small file helpers shared by every step."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import tempfile
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    A crash or exception inside the block leaves ``path`` as it was and
    removes the temporary file, so no later step ever reads a half-written
    artifact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stray_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}.", suffix=".tmp", dir=path.parent)
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

    :func:`atomic_path` names them ``.<name>.<pid>.<random>.tmp``; those of a
    process that no longer runs (or without a pid, from older versions) are
    removed, those of a live process (a concurrent writer) are kept.

    Returns the paths removed.
    """
    path = Path(path)
    removed = []
    name = re.escape(path.name)
    ours = re.compile(rf"\.{name}\.(\d+)\.[a-z0-9_]{{8}}\.tmp")   # .<name>.<pid>.<random>.tmp
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
