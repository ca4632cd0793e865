"""One declaration per step (issue 25, point 2): each step's options dataclass generates its
`speid` options, its record, the study's and the workflow's command lines and the reuse
comparison. These tests fail when an option is declared a second time and drifts."""
from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import pytest
import yaml

from speidlib import schema
from speidlib.app.cli import build_parser, subcommand_parser
from speidlib.app.notebooks import reuse_trained_model
from speidlib.app.study import cell_line_commands
from speidlib.data.candidates import CandidatesOptions
from speidlib.data.dataset import PrepareConfig
from speidlib.data.pairs import TargetFinderOptions
from speidlib.data.random_genome import RandomGenomeOptions
from speidlib.demo.synthetic import DemoConfig
from speidlib.evaluate.baselines import BaselinesOptions
from speidlib.evaluate.crispr import CrisprOptions
from speidlib.evaluate.heldout import EvaluateOptions
from speidlib.interpret.attribute import AttributeConfig
from speidlib.interpret.modisco import ModiscoConfig
from speidlib.interpret.report import MotifsConfig
from speidlib.interpret.variant_run import DemoVariantsOptions, IsmOptions, VariantsOptions
from speidlib.model.presets import PRESETS
from speidlib.options import config_argv, from_args, options_of, option, record, to_argv
from speidlib.score.run import ScoreOptions
from speidlib.train.options import TrainOptions

ROOT = Path(__file__).resolve().parents[1]
# step -> (its dataclass, the arguments `speid STEP` requires besides the options)
STEPS = {
    "prepare": (PrepareConfig, ["--run", "R"]),
    "train": (TrainOptions, ["R"]),
    "evaluate": (EvaluateOptions, ["R"]),
    "motifs": (MotifsConfig, ["R"]),
    "attribute": (AttributeConfig, ["R"]),
    "score": (ScoreOptions, ["R"]),
    "variants": (VariantsOptions, ["R"]),
    "modisco": (ModiscoConfig, ["R"]),
    "crispr": (CrisprOptions, []),
    "ism": (IsmOptions, ["R"]),
    "candidates": (CandidatesOptions, []),
    "demo-variants": (DemoVariantsOptions, []),
    "baselines": (BaselinesOptions, ["O"]),
    "demo-data": (DemoConfig, ["D"]),
    "fetch-targetfinder": (TargetFinderOptions, []),
    "random-genome": (RandomGenomeOptions, ["--assembly", "hg19"]),
}
# the fields the required arguments above set otherwise than their defaults
SET_BY_REQUIRED = {"random-genome": {"assembly": "hg19"}}
# the fields without a default, and their flags' values
REQUIRED = {"pairs": "p.csv", "genome": "g.fa", "vcf": "v.vcf", "out": "o.tsv", "benchmark": "b.tsv.gz",
            "enhancers": "e.bed", "promoters": "p.bed", "pair": ["chr1:0-10", "chr1:20-30"],
            "demo": "demo", "cell": "K562"}


def _actions(command: str) -> dict:
    return {a.dest: a for a in subcommand_parser(command)._actions}


@pytest.mark.parametrize("step", STEPS)
def test_every_option_field_is_a_flag_of_its_command_with_the_same_default_and_choices(step):
    cls, _ = STEPS[step]
    actions = _actions(step)
    for name, (f, o) in options_of(cls).items():
        assert name in actions, f"speid {step} has no option for {cls.__name__}.{name}"
        a = actions[name]
        if f.default is dataclasses.MISSING:
            assert a.required, name
        else:
            assert a.default == f.default, (name, a.default, f.default)
        assert (tuple(a.choices) if a.choices else None) == o.choices, name
        assert a.type is o.type, name
        assert (a.option_strings[0] if a.option_strings else "") == o.flag_for(name), name


@pytest.mark.parametrize("step", STEPS)
def test_parsing_no_options_gives_the_dataclass_defaults(step):
    cls, required = STEPS[step]
    given = {n: REQUIRED[n] for n, (f, _) in options_of(cls).items() if f.default is dataclasses.MISSING}
    table = options_of(cls)
    positional = [value for name, value in given.items() if table[name][1].flag == ""]
    extra = [arg for name, value in given.items() if table[name][1].flag != ""
             for arg in (table[name][1].flag_for(name), *(value if isinstance(value, list) else [value]))]
    args = build_parser().parse_args([step, *required, *positional, *extra])
    assert from_args(cls, args) == cls(**given, **SET_BY_REQUIRED.get(step, {}))


def test_the_preset_choices_and_the_prepare_defaults_are_written_once():
    assert _actions("train")["preset"].choices == tuple(PRESETS)
    assert _actions("doctor")["preset"].choices == tuple(PRESETS)
    for name in ("enhancer_window", "promoter_window", "augment"):   # doctor sizes the run prepare makes
        assert _actions("doctor")[name].default == getattr(PrepareConfig, name)
    assert _actions("train")["threads"].default == TrainOptions.threads is None
    assert _actions("cross-cell")["batch_size"].default == ScoreOptions.batch_size


# (library function, its parameter, the dataclass field it takes its default from)
FUNCTION_DEFAULTS = [
    ("speidlib.evaluate.crispr.run_crispr", "n_bootstrap", (CrisprOptions, "n_bootstrap")),
    ("speidlib.evaluate.crispr.run_crispr", "seed", (CrisprOptions, "seed")),
    ("speidlib.interpret.variant_run.run_ism", "output", (IsmOptions, "output")),
    ("speidlib.interpret.variant_run.run_ism", "threads", (IsmOptions, "threads")),
    ("speidlib.data.candidates.write_candidates", "max_distance", (CandidatesOptions, "max_distance")),
    ("speidlib.evaluate.crosscell.cross_cell_runs", "batch_size", (ScoreOptions, "batch_size")),
    ("speidlib.evaluate.crosscell.speid_cross_cell", "batch_size", (ScoreOptions, "batch_size")),
    ("speidlib.interpret.variant_run.write_demo_vcf", "seed", (DemoVariantsOptions, "seed")),
    ("speidlib.interpret.variant_run.write_demo_vcf", "max_elements", (DemoVariantsOptions, "max_elements")),
    ("speidlib.interpret.variant_run.write_demo_vcf", "random_seed", (DemoVariantsOptions, "random_seed")),
    ("speidlib.data.pairs.download_targetfinder", "feature_set", (TargetFinderOptions, "feature_set")),
    ("speidlib.data.pairs.download_targetfinder", "cache_dir", (TargetFinderOptions, "cache")),
    ("speidlib.data.random_genome.write_random_genome", "seed", (RandomGenomeOptions, "seed")),
    ("speidlib.data.random_genome.write_random_genome", "chromosomes", (RandomGenomeOptions, "chromosomes")),
]


@pytest.mark.parametrize("function, parameter, field", FUNCTION_DEFAULTS)
def test_the_library_functions_take_their_defaults_from_the_options_dataclasses(function, parameter, field):
    """A step's function that takes plain keyword arguments reads each default from its options
    dataclass (``n_bootstrap: int = CrisprOptions.n_bootstrap``), not from a second literal."""
    import importlib
    import inspect

    module, name = function.rsplit(".", 1)
    fn = getattr(importlib.import_module(module), name)
    cls, attr = field
    assert inspect.signature(fn).parameters[parameter].default == getattr(cls, attr)
    source = inspect.getsource(fn)
    header = source[:source.index(") ->") + 1]   # the signature
    assert re.search(rf"\b{parameter}: [^=,]+ = {cls.__name__}\.{attr}\b", header), header


# command -> its adder in the command modules, for the commands whose options are a dataclass's fields
CONVERTED = {"modisco": "add_modisco", "crispr": "add_crispr", "ism": "add_ism", "candidates": "add_candidates",
             "cross-cell": "add_cross_cell", "demo-variants": "add_demo_variants", "baselines": "add_baselines",
             "demo-data": "add_demo", "fetch-targetfinder": "add_fetch", "random-genome": "add_random_genome"}


def _adder(name: str) -> ast.FunctionDef:
    for path in (ROOT / "speidlib" / "app" / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == name:
                return node
    raise AssertionError(f"no {name} in speidlib/app/cli")


@pytest.mark.parametrize("command", CONVERTED)
def test_no_command_module_writes_a_default_or_a_choice_list_of_a_converted_command_again(command):
    """A converted command's hand-declared arguments (its run, --out, flags) have no default but
    None and no choices: every default and choice list is its dataclass field's."""
    for call in ast.walk(_adder(CONVERTED[command])):
        if isinstance(call, ast.Call) and getattr(call.func, "attr", None) == "add_argument":
            for kw in call.keywords:
                assert kw.arg != "choices", (command, ast.unparse(call))
                if kw.arg == "default":
                    assert isinstance(kw.value, ast.Constant) and kw.value.value is None, (command, ast.unparse(call))


def test_shared_flags_are_not_declared_again_in_the_command_modules():
    """--seed, --threads, --quiet and --overwrite come from speidlib.options (seed_option,
    threads_option, add_flag); a command module that spells one out declares it a second time."""
    for path in (ROOT / "speidlib" / "app" / "cli").glob("*.py"):
        text = path.read_text()
        for flag in ("--seed", "--threads", "--quiet", "--overwrite", "--preset", "--pretrain-epochs"):
            assert f'add_argument("{flag}"' not in text, (path.name, flag)
        assert "pretrain_epochs" not in text, path.name


STUDY_CASES = [
    (PrepareConfig(pairs="p.csv", genome="g.fa", split="chromosome", test_chromosomes=["chr1"],
                   valid_chromosomes=["chr2", "chr3"], test_fraction=0.2, valid_fraction=0.15,
                   enhancer_window=700, promoter_window=500, augment=3, seed=5),
     TrainOptions(preset="paper", pretrain_epochs=2, random_init=True, threads=1, seed=7, zero_branch="promoter",
                  shift_negatives=False, rc_augment=True, epoch_examples=None, swap_negatives=0.25),
     EvaluateOptions(n_bootstrap=50, seed=7)),
    (PrepareConfig(pairs="p.csv", genome="g.fa"), TrainOptions(), EvaluateOptions()),
]


@pytest.mark.parametrize("prep, train, evaluation", STUDY_CASES)
def test_the_study_command_lines_parse_back_to_the_same_dataclasses(tmp_path, prep, train, evaluation):
    cmds = cell_line_commands(tmp_path / "run", prep, train, evaluation)
    parser = build_parser()
    assert from_args(PrepareConfig, parser.parse_args(cmds["prepare"])) == prep
    assert from_args(TrainOptions, parser.parse_args(cmds["train"])) == train
    assert from_args(EvaluateOptions, parser.parse_args(cmds["evaluate"])) == evaluation


def test_to_argv_leaves_out_defaults_and_round_trips_every_kind_of_option():
    assert to_argv(TrainOptions()) == []
    opts = TrainOptions(preset="original", retrain_epochs=3, resume=True, mixed_precision=True, devices="0,1",
                        redraw_shifts=False, shift_negatives=True)
    argv = to_argv(opts)
    assert "--no-redraw-shifts" in argv and "--shift-negatives" in argv and "--resume" in argv
    assert from_args(TrainOptions, build_parser().parse_args(["train", "R", *argv])) == opts
    motifs = MotifsConfig(split="valid", ablation=False, importance=False, null_draws=2, max_logos=3)
    argv = to_argv(motifs)
    assert "--no-ablation" in argv and "--no-importance" in argv
    assert from_args(MotifsConfig, build_parser().parse_args(["motifs", "R", *argv])) == motifs
    with pytest.raises(ValueError, match="no command-line form"):
        to_argv(TrainOptions(preset=PRESETS["cpu"].replace(patience=1)))


def _snakefile_calls() -> list[tuple[str, list[str]]]:
    """(command, names) of every options("COMMAND", SECTION, [names]) in workflow/Snakefile."""
    text = (ROOT / "workflow" / "Snakefile").read_text()
    calls = re.findall(r'options\("([\w-]+)",.*?(\[[^\[\]]*\])\)', text, re.S)
    return [(command, ast.literal_eval(names)) for command, names in calls]


def test_every_name_the_snakefile_passes_is_an_option_of_its_command():
    calls = _snakefile_calls()
    assert {c for c, _ in calls} >= {"prepare", "train", "evaluate", "motifs", "baselines", "score",
                                      "variants", "demo-data", "demo-variants"}
    for command, names in calls:
        config_argv(subcommand_parser(command), {}, names)   # raises on a name the command lacks


@pytest.mark.parametrize("config", ["demo", "targetfinder"])
def test_the_workflow_configs_give_the_dataclasses_their_values(config):
    c = yaml.safe_load((ROOT / "workflow" / "config" / f"{config}.yaml").read_text())
    calls = dict(_snakefile_calls())
    sections = {"prepare": c.get("prepare", {}), "train": c.get("train", {}), "evaluate": c.get("evaluate", {}),
                "motifs": c.get("motifs", {})}
    parsed = {}
    for step, section in sections.items():
        argv = config_argv(subcommand_parser(step), section, calls[step])
        extra = ["--pairs", "p", "--genome", "g"] if step == "prepare" else []
        parsed[step] = build_parser().parse_args([step, *STEPS[step][1], *extra, *argv])
    prep = from_args(PrepareConfig, parsed["prepare"])
    for key in ("enhancer_window", "promoter_window", "augment", "seed"):
        assert getattr(prep, key) == sections["prepare"][key]
    train = from_args(TrainOptions, parsed["train"])
    assert train.preset == sections["train"]["preset"]
    assert train.pretrain_epochs == sections["train"].get("pretrain_epochs")
    assert from_args(EvaluateOptions, parsed["evaluate"]).n_bootstrap == sections["evaluate"]["bootstrap"]
    motifs = from_args(MotifsConfig, parsed["motifs"])
    assert motifs.logos == sections["motifs"]["logos"]
    assert motifs.ablation is not sections["motifs"].get("no_ablation", False)


def test_a_config_name_or_value_the_command_refuses_stops_the_workflow_when_read():
    with pytest.raises(ValueError, match="no option --pretrain-epoch"):
        config_argv(subcommand_parser("train"), {"pretrain_epoch": 3}, ["pretrain_epoch"])
    with pytest.raises(ValueError, match="--preset huge: not one of cpu, paper, original"):
        config_argv(subcommand_parser("train"), {"preset": "huge"}, ["preset"])
    with pytest.raises(ValueError, match="--pretrain-epochs 0: must be a whole number >= 1"):
        config_argv(subcommand_parser("train"), {"pretrain_epochs": 0}, ["pretrain_epochs"])
    assert config_argv(subcommand_parser("train"), {"shift_negatives": False, "random_init": False},
                       ["shift_negatives", "random_init"]) == ["--no-shift-negatives"]


def _trained(folder: Path, options: TrainOptions, dataset="abc") -> Path:
    folder.mkdir()
    train = {**record(options.resolved()), "status": "done", "dataset_sha256": dataset, "model_sha256": "m"}
    (folder / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"dataset_sha256": dataset}, "train": train}))
    (folder / schema.MODEL_FILE).write_bytes(b"weights")
    return folder


CHANGES = {"preset": "paper", "pretrain_epochs": 3, "retrain_epochs": 1, "random_init": True, "seed": 4,
           "mixed_precision": True, "zero_branch": "enhancer", "shift_negatives": False}


def test_the_reuse_comparison_covers_every_recorded_option():
    recorded = [n for n, (_, o) in options_of(TrainOptions).items() if o.record]
    assert sorted(recorded) == sorted(CHANGES)


@pytest.mark.parametrize("name", CHANGES)
def test_the_reuse_comparison_names_a_changed_option(tmp_path, name):
    base = TrainOptions(random_init=False)
    source = _trained(tmp_path / "source", base)
    here = tmp_path / "here"
    here.mkdir()
    (here / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"dataset_sha256": "abc"}}))
    why = reuse_trained_model(here, source, base, **{name: CHANGES[name]})
    assert "was made with other parameters" in why and f"{name}=" in why, why
    assert not (here / schema.MODEL_FILE).exists()
    assert reuse_trained_model(here, source, base) == ""


def test_a_data_efficiency_option_changes_the_preset_the_reuse_compares(tmp_path):
    source = _trained(tmp_path / "source", TrainOptions())
    here = tmp_path / "here"
    here.mkdir()
    (here / schema.CONFIG_FILE).write_text(json.dumps({"prepare": {"dataset_sha256": "abc"}}))
    why = reuse_trained_model(here, source, TrainOptions(rc_augment=False))
    assert "preset='cpu', now 'cpu' with rc_augment=False" in why, why


def test_option_needs_a_no_flag_for_a_true_default():
    with pytest.raises(ValueError, match="--no-"):
        option(True, help="x")


def test_the_records_hold_what_the_dataclasses_declare_recorded():
    from speidlib.run import Run
    from speidlib.run.records import EvaluateRecord

    assert set(record(EvaluateOptions())) <= {f.name for f in dataclasses.fields(EvaluateRecord)}
    example = Run(ROOT / schema.EXAMPLE_RUNS_DIR / "demo_cpu").train_record.to_dict()
    assert set(record(TrainOptions().resolved())) <= set(example)
