"""One declaration per step: a dataclass whose fields are the step's options.

A step's options are one frozen dataclass (:class:`speidlib.data.dataset.PrepareConfig`,
:class:`speidlib.train.options.TrainOptions`, :class:`speidlib.evaluate.heldout.EvaluateOptions`,
:class:`speidlib.interpret.report.MotifsConfig`, ...). Each field that is a command-line
option is declared with :func:`option`: its default, help, type, choices and flag are
written there once, and everything else is generated from it:

- the ``argparse`` options of ``speid STEP`` (:func:`add_arguments`), and the dataclass back
  from the parsed arguments (:func:`from_args`);
- the command line that gives a dataclass to ``speid STEP`` (:func:`to_argv`: the study's
  commands, ``speidlib.app.study``), and a workflow config section's options
  (:func:`config_argv`: ``workflow/Snakefile``'s ``options()``, checked against the parser);
- the parameters a step records in ``RUN/config.json`` (:func:`record`) and the reuse
  comparison, which names the parameters a recorded artifact was made with otherwise
  (:func:`differences`, through :mod:`speidlib.run.provenance`).

A help text says ``%(default)s`` where it quotes the default, so that the default is
written once. Options shared by many steps (``--seed``, ``--threads``, ``--quiet``,
``--overwrite``) are declared once, here (:func:`seed_option`, :func:`threads_option`,
:func:`add_flag`). Importing this module loads no TensorFlow.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from speidlib.argtypes import nonneg_int, positive_int

__all__ = ["Option", "option", "options_of", "add_arguments", "add_option", "from_args", "to_argv", "config_argv",
           "record", "differences", "seed_option", "threads_option", "add_flag"]

_KEY = "speid_option"
OPTIONAL_BOOL = "optional"   # --name / --no-name, None meaning "the preset's"


@dataclasses.dataclass(frozen=True)
class Option:
    """How a field appears on the command line (the metadata of :func:`option`)."""

    help: str
    type: Callable | None = None
    choices: Sequence | None = None
    flag: str | None = None          # None: --field-name; "": a positional argument
    metavar: Any = None
    nargs: Any = None
    action: str | None = None        # "store_true", "store_false" or OPTIONAL_BOOL; None: a value
    group: str | None = None         # the title of an argument group of the help
    record: bool = True              # recorded in the run and compared on reuse

    def flag_for(self, name: str) -> str:
        return ("--" + name.replace("_", "-")) if self.flag is None else self.flag


def option(default=dataclasses.MISSING, *, help: str, type: Callable | None = None, choices=None,
           flag: str | None = None, metavar=None, nargs=None, action: str | None = None,
           group: str | None = None, record: bool = True, default_factory=dataclasses.MISSING):
    """A dataclass field that is a command-line option.

    ``default`` missing: a required option. A ``bool`` default gives a flag (``store_true``
    for ``False``; ``store_false`` for ``True``, whose ``flag`` is then ``--no-...``);
    ``action=OPTIONAL_BOOL`` gives ``--name``/``--no-name`` over a ``None`` default.
    ``record=False``: how the step runs (threads, progress, devices), not what it makes:
    left out of :func:`record` and of the reuse comparison.
    """
    if action is None and isinstance(default, bool):
        action = "store_false" if default else "store_true"
        if default and flag is None:
            raise ValueError("an option whose default is True needs its --no-... flag")
    meta = Option(help=help, type=type, choices=tuple(choices) if choices is not None else None, flag=flag,
                  metavar=metavar, nargs=nargs, action=action, group=group, record=record)
    return dataclasses.field(default=default, default_factory=default_factory, metadata={_KEY: meta})


def seed_option(what: str, default: int = 0):
    """The ``--seed`` of a step: a whole number >= 0; ``what`` says what it seeds."""
    return option(default, type=nonneg_int, help=f"{what} (default %(default)s)")


def threads_option(help: str = "CPU threads (default: all this process may use)", default=None):
    """The ``--threads`` of a step (None: what the process may use); not recorded."""
    return option(default, type=positive_int, help=help, record=False)


# Flags that say how a command runs and are no step's parameter: declared once, by name.
_FLAGS = {
    "quiet": "no progress bars",
    "overwrite": "replace an existing --out",
}


def add_flag(parser, name: str, help: str | None = None) -> None:
    """``--quiet`` or ``--overwrite`` (``store_true``), with the flag's usual help unless given."""
    parser.add_argument("--" + name, action="store_true", help=_FLAGS[name] if help is None else help)


def options_of(cls) -> dict[str, tuple[dataclasses.Field, Option]]:
    """Field name -> (field, :class:`Option`) for every option field of a dataclass, in order."""
    return {f.name: (f, f.metadata[_KEY]) for f in dataclasses.fields(cls) if _KEY in f.metadata}


def _default(f: dataclasses.Field):
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def _groups(parser) -> dict:
    if not hasattr(parser, "_speid_groups"):
        parser._speid_groups = {}
    return parser._speid_groups


def add_arguments(parser, cls, only: Iterable[str] | None = None, exclude: Iterable[str] = (),
                  help: Mapping[str, str] | None = None) -> None:
    """Add the options of ``cls``'s fields to ``parser`` (or an argument group), in field order.

    ``only`` (in its order) or ``exclude`` pick fields; ``help`` replaces a field's help text
    (the same option described for another command).
    """
    table = options_of(cls)
    names = list(only) if only is not None else [n for n in table if n not in set(exclude)]
    for name in names:
        add_option(parser, name, table[name][0], help=(help or {}).get(name))


def add_option(parser, name: str, f: dataclasses.Field, help: str | None = None) -> None:
    """Add one option field (of a dataclass, or one made by :func:`option` for a command that
    has no dataclass, such as ``add_option(p, "seed", seed_option("split seed"))``)."""
    o = f.metadata[_KEY]
    default = _default(f)
    kwargs = {"help": o.help if help is None else help}
    if o.flag == "":
        parser.add_argument(name, **kwargs)
        return
    flag = o.flag_for(name)
    target = parser
    if o.group is not None:
        groups = _groups(parser)
        target = groups.get(o.group) or groups.setdefault(o.group, parser.add_argument_group(o.group))
    kwargs["dest"] = name
    if o.action == OPTIONAL_BOOL:
        kwargs.update(action=argparse.BooleanOptionalAction, default=default)
    elif o.action is not None:
        kwargs["action"] = o.action
    else:
        if default is dataclasses.MISSING:
            kwargs["required"] = True
        else:
            kwargs["default"] = default
        for key in ("type", "choices", "nargs"):
            if getattr(o, key) is not None:
                kwargs[key] = getattr(o, key)
        # argparse names a value after its dest; keep the flag's name when they differ
        derived = flag[2:].replace("-", "_").upper()
        metavar = o.metavar if o.metavar is not None else (
            derived if derived != name.upper() and o.choices is None else None)
        if metavar is not None:
            kwargs["metavar"] = metavar
    target.add_argument(flag, **kwargs)


def from_args(cls, args: argparse.Namespace, **values):
    """``cls`` from the parsed arguments of :func:`add_arguments` (plus ``values``)."""
    got = {n: getattr(args, n) for n in options_of(cls) if hasattr(args, n)}
    return cls(**{**got, **values})


def _value_argv(flag: str, o: Option, value) -> list[str]:
    if o.action == "store_true":
        return [flag] if value else []
    if o.action == "store_false":
        return [] if value else [flag]
    if o.action == OPTIONAL_BOOL:
        return [] if value is None else [flag if value else "--no-" + flag[2:]]
    if value is None:
        return []
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if o.nargs is not None and isinstance(value, (list, tuple)):
        return [flag, *map(str, value)]
    if isinstance(value, (list, tuple)):
        return [flag, ",".join(map(str, value))]
    if not isinstance(value, (str, int, float)):
        raise ValueError(f"{flag} {value!r} has no command-line form")
    return [flag, str(value)]


def to_argv(obj, only_changed: bool = True, exclude: Iterable[str] = ()) -> list[str]:
    """The command-line arguments that give ``obj`` (a dataclass of options) to its command.

    Positional fields come first, in field order. With ``only_changed``, a value equal to its
    default is left out (the command's default gives it). Parsing the result with the
    command's parser and :func:`from_args` gives ``obj`` back.
    """
    positional, named = [], []
    for name, (f, o) in options_of(type(obj)).items():
        if name in set(exclude):
            continue
        value = getattr(obj, name)
        if o.flag == "":
            positional.append(str(value))
        elif not (only_changed and value == _default(f)):
            named += _value_argv(o.flag_for(name), o, value)
    return positional + named


def config_argv(parser: argparse.ArgumentParser | None, mapping: Mapping, names: Sequence[str]) -> list[str]:
    """A workflow config section's options for a command: ``--flag value`` for each of ``names``
    set in ``mapping`` (``workflow/Snakefile``'s ``options()``).

    A name is a flag's name (``bootstrap`` for ``--bootstrap``, ``no_ablation`` for
    ``--no-ablation``) and a value what the command line takes (``true`` gives a flag, a list
    is joined by commas). With ``parser`` (the command's, made by :func:`add_arguments` from
    its step's dataclass), a name it does not have and a value it refuses are errors here,
    when the workflow is read, not in a job hours later.
    """
    actions = {} if parser is None else {
        flags[0][2:].replace("-", "_"): a for a in parser._actions
        for flags in [[f for f in a.option_strings if f.startswith("--")]] if flags and a.dest != "help"}
    out = []
    for key in names:
        action = actions.get(key)
        if parser is not None and action is None:
            raise ValueError(f"{parser.prog} has no option --{key.replace('_', '-')} "
                             f"(options: {', '.join(sorted(actions))})")
        value = mapping.get(key)
        if value is None or value is False and not isinstance(action, argparse.BooleanOptionalAction):
            continue
        flag = "--" + key.replace("_", "-")
        if isinstance(action, argparse.BooleanOptionalAction):
            out.append(flag if value else "--no-" + flag[2:])
        elif value is True and (action is None or action.nargs == 0):
            out.append(flag)
        else:
            text = ",".join(str(v) for v in value) if isinstance(value, (list, tuple)) else str(value)
            if action is not None:
                try:
                    checked = action.type(text) if action.type is not None else text
                except (argparse.ArgumentTypeError, ValueError, TypeError) as e:
                    raise ValueError(f"{parser.prog} --{key.replace('_', '-')} {text}: {e}") from None
                if action.choices is not None and checked not in action.choices:
                    raise ValueError(f"{parser.prog} --{key.replace('_', '-')} {text}: not one of "
                                     f"{', '.join(map(str, action.choices))}")
            out += [flag, text]
    return out


def record(obj, exclude: Iterable[str] = ()) -> dict:
    """The recorded parameters of ``obj``: every option field not declared ``record=False``,
    by field name (a value with ``to_dict``, such as a ``ModelConfig``, as its dict)."""
    out = {}
    for name, (_, o) in options_of(type(obj)).items():
        if o.record and name not in set(exclude):
            value = getattr(obj, name)
            out[name] = value.to_dict() if hasattr(value, "to_dict") else value
    return out


def differences(recorded: Mapping, obj, exclude: Iterable[str] = ()) -> list[str]:
    """The recorded parameters of ``obj`` (:func:`record`) that ``recorded`` holds otherwise."""
    return [k for k, v in record(obj, exclude).items() if recorded.get(k) != v]
