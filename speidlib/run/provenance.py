"""One provenance check: was this artifact made from these inputs with these parameters?

An artifact's *record* names what it was made from: input fingerprints
(content hashes such as ``dataset_sha256`` and ``model_sha256``) and the
parameters of the step that made it. :func:`differences` compares a record
with what is wanted now; :func:`reason` says in one sentence why an artifact
cannot be used (or ``""``), and :func:`check` raises it. The same comparison
serves the staleness refusals (a model made from another dataset, metrics or
motifs made by another model), ``speid train --resume`` (checkpoints of
another dataset) and the notebooks' reuse of committed results.

A fingerprint recorded as ``None``, or missing from a record, means "made
before fingerprints were recorded": it is not compared (runs and committed
examples from before stay usable). Parameters are always compared.
"""
from __future__ import annotations

from collections.abc import Mapping


def differences(recorded: Mapping, wanted: Mapping, fingerprints=()) -> list[str]:
    """The names of ``wanted`` whose value ``recorded`` does not hold, in ``wanted``'s order.

    Names in ``fingerprints`` are skipped when either side is ``None`` (not recorded).
    """
    out = []
    for name, value in wanted.items():
        have = recorded.get(name)
        if name in fingerprints and (have is None or value is None):
            continue
        if have != value:
            out.append(name)
    return out


def _short(value) -> str:
    return value[:12] if isinstance(value, str) and len(value) == 64 else repr(value)


def reason(what: str, recorded: Mapping, inputs: Mapping | None = None, params: Mapping | None = None,
           remedy: str = "") -> str:
    """Why ``what`` was not made from ``inputs`` (fingerprints) with ``params``; ``""`` if it was.

    Parameters
    ----------
    what : the artifact, as the sentence names it (a path)
    recorded : what the artifact's record holds (fingerprints and parameters, one flat dict)
    inputs : name -> content hash wanted now (None values are not compared)
    params : name -> parameter value wanted now
    remedy : what to do, appended after a colon
    """
    inputs, params = dict(inputs or {}), dict(params or {})
    changed = differences(recorded, inputs, fingerprints=inputs)
    if changed:
        names = [k.removesuffix("_sha256") for k in changed]
        said = "; ".join(f"{n} {_short(recorded.get(k))}, now {_short(inputs[k])}" for n, k in zip(names, changed))
        text = f"{what} was made from another {' and '.join(names)} ({said})"
    else:
        changed = differences(recorded, params)
        if not changed:
            return ""
        said = ", ".join(f"{k}={recorded.get(k)!r}, now {params[k]!r}" for k in changed)
        text = f"{what} was made with other parameters ({said})"
    return f"{text}: {remedy}" if remedy else text


def check(what: str, recorded: Mapping, inputs: Mapping | None = None, params: Mapping | None = None,
          remedy: str = "") -> None:
    """Raise ``ValueError`` with :func:`reason`'s sentence unless the artifact is current."""
    why = reason(what, recorded, inputs, params, remedy)
    if why:
        raise ValueError(why)
