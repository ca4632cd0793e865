"""Scatter a pair table by chromosome and gather the per-chromosome results.

Genome-wide candidate sets hold millions of pairs per cell type; a workflow
scores them one chromosome per job (``workflow/Snakefile``) and joins the
scored parts into one file. Both steps work line by line on text, so memory
stays bounded and every column (names, strands, scores) passes through
unchanged:

* :func:`split_by_chromosome` reads a BEDPE (plain or gzip) and writes one
  BEDPE per requested chromosome, each starting with the input's header lines
  (``#``, ``track`` and ``browser`` lines before the first pair). Candidate
  pairs join elements of one chromosome, so the first column decides.
* :func:`gather_tables` concatenates parts written by the same command,
  keeping the header the parts share once.
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from speidlib.io import STDOUT, atomic_path, check_outputs, open_output, open_text

__all__ = ["HEADER_PREFIXES", "split_by_chromosome", "gather_tables"]

HEADER_PREFIXES = ("#", "track", "browser")


def split_by_chromosome(pairs, chromosomes: Sequence[str], out_paths: Sequence,
                        overwrite: bool = True) -> dict[str, int]:
    """Write the pairs of each chromosome of a BEDPE to its own file.

    Parameters
    ----------
    pairs : BEDPE path (plain or gzip): tab-separated ``chrom1 start1 end1
        chrom2 start2 end2 ...``, optional leading ``#``/``track``/``browser`` lines
    chromosomes : the chromosomes to write, one file each (a chromosome with no
        pairs gets a file with the header only)
    out_paths : one output path per chromosome, in the same order; none may be ``pairs``
        itself (by resolved path or file identity), whatever ``overwrite`` says
    overwrite : whether existing files at ``out_paths`` may be replaced (``speid split-pairs``
        passes its ``--overwrite``)

    Returns
    -------
    dict chromosome -> pairs written, and ``"other"`` -> pairs on chromosomes not
    requested (dropped)

    Raises
    ------
    ValueError : lengths differ, a chromosome is named twice, an output is the input
        (:func:`speidlib.io.check_outputs`), or a data line has fewer than 6 columns or
        joins two chromosomes (file and line named)
    """
    pairs = Path(pairs)
    chromosomes = [str(c) for c in chromosomes]
    if len(chromosomes) != len(out_paths):
        raise ValueError(f"{len(chromosomes)} chromosomes but {len(out_paths)} output paths")
    if len(set(chromosomes)) != len(chromosomes):
        raise ValueError(f"a chromosome is named twice in {chromosomes}")
    if not pairs.exists():
        raise ValueError(f"{pairs} does not exist")
    check_outputs({"--out-dir": list(out_paths)}, {"pairs": pairs}, overwrite=overwrite)
    counts = {c: 0 for c in chromosomes}
    counts["other"] = 0
    header: list[str] = []
    with open_text(pairs) as src:
        managers = [atomic_path(p) for p in out_paths]
        tmps = [m.__enter__() for m in managers]
        outs = {c: open(t, "w") for c, t in zip(chromosomes, tmps)}
        error = None
        try:
            in_header = True
            for lineno, line in enumerate(src, 1):
                if not line.strip():
                    continue
                if in_header and line.startswith(HEADER_PREFIXES):
                    header.append(line)
                    continue
                if in_header:
                    in_header = False
                    for fh in outs.values():
                        fh.writelines(header)
                fields = line.rstrip("\n").split("\t")
                if len(fields) < 6:
                    raise ValueError(f"{pairs}, line {lineno}: expected a BEDPE line with at least 6 "
                                     f"tab-separated columns, got {len(fields)}")
                if fields[0] != fields[3]:
                    raise ValueError(f"{pairs}, line {lineno}: the pair joins {fields[0]} and "
                                     f"{fields[3]}; candidate pairs lie on one chromosome")
                fh = outs.get(fields[0])
                if fh is None:
                    counts["other"] += 1
                    continue
                fh.write(line if line.endswith("\n") else line + "\n")
                counts[fields[0]] += 1
            if in_header:
                for fh in outs.values():
                    fh.writelines(header)
        except BaseException as e:  # noqa: BLE001 - close and discard every part, then re-raise
            error = e
        finally:
            for fh in outs.values():
                fh.close()
            for m in reversed(managers):
                m.__exit__(type(error) if error else None, error, None)
        if error is not None:
            raise error
    return counts


def _header_length(parts: list[list[str]], csv_header: bool) -> int:
    if csv_header:
        return 1
    n = 0
    while all(n < len(p) and p[n].startswith(HEADER_PREFIXES) for p in parts):
        n += 1
    return n


def gather_tables(parts: Sequence, out, header_lines: int | None = None) -> int:
    """Concatenate text tables written by one command (e.g. per-chromosome scores).

    Parameters
    ----------
    parts : paths, in the order their rows should appear
    out : the file to write (atomically; never one of the parts), or ``-`` for the standard output
    header_lines : leading lines each part repeats (kept once); None: 1 for
        ``.csv``/``.tsv``/``.txt`` outputs (a column-name line), else the leading
        ``#``/``track``/``browser`` lines (BEDPE, UCSC interact)

    Returns
    -------
    int : data lines written

    Raises
    ------
    ValueError : no parts, a part is missing, or the parts' headers differ
    """
    parts = [Path(p) for p in parts]
    if not parts:
        raise ValueError(f"nothing to gather into {out}: no parts given")
    check_outputs({"--out": out}, {f"part {p}": p for p in parts}, overwrite=True)
    texts = []
    for p in parts:
        if not p.exists():
            raise ValueError(f"{p} does not exist: its scatter job has not run")
        with open_text(p) as fh:
            texts.append(fh.read().splitlines(keepends=True))
    if header_lines is None:
        named = parts[0] if str(out) == STDOUT else Path(out)  # the standard output: the parts' kind
        n = _header_length(texts, named.suffix.lower() in (".csv", ".tsv", ".txt"))
    else:
        n = int(header_lines)
    head = texts[0][:n]
    for p, t in zip(parts, texts):
        if t[:n] != head and len(t) > 0:
            raise ValueError(f"{p} starts with a different header than {parts[0]}: "
                             "gather only parts written by the same command")
    rows = 0
    with open_output(out, compress=False) as fh:
        fh.writelines(head)
        for t in texts:
            body = t[n:]
            fh.writelines(line if line.endswith("\n") else line + "\n" for line in body)
            rows += len(body)
    return rows
