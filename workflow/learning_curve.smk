# The learning curve of a training recipe on planted grammars (issue 26): one job per
# (grammar, recipe, positives, replicate), then one report. On this machine:
#
#   snakemake -s workflow/learning_curve.smk --configfile workflow/config/learning_curve.yaml \
#       --profile workflow/profiles/local
#
# On a cluster, `--profile workflow/profiles/slurm` submits each job as its own task. Every
# job runs `scripts/learning_curve.py ROOT --job G:R:N:K` (demo tables, prepare, train from
# random kernels, evaluate, k-mer baseline and pair oracle, `speid motifs`), and writes
# ROOT/jobs/<G>_<R>_<N>_<K>.json; the report gathers them into ROOT/learning_curve.{csv,md,png}.
import sys

PYTHON = config.get("python", sys.executable)
LC_ROOT = config.get("root", "runs/learning_curve")
GRAMMARS = list(config.get("grammars", ["demo", "g2", "hard"]))
RECIPES = list(config.get("recipes", ["cpu"]))
POSITIVES = [int(n) for n in config.get("positives", [250, 500, 1000, 2000, 5000])]
REPLICATES = list(range(int(config.get("replicates", 2))))
THREADS = int(config.get("threads", 2))
BOOTSTRAP = int(config.get("bootstrap", 200))
MOTIFS = "" if config.get("motifs", True) else "--no-motifs"

wildcard_constraints:
    grammar="[A-Za-z0-9]+",
    recipe="[A-Za-z0-9_]+",
    npos=r"\d+",
    rep=r"\d+",


rule all:
    input:
        f"{LC_ROOT}/learning_curve.md",


rule learning_curve_job:
    output:
        f"{LC_ROOT}/jobs/{{grammar}}_{{recipe}}_{{npos}}_{{rep}}.json",
    log:
        f"{LC_ROOT}/logs/{{grammar}}_{{recipe}}_{{npos}}_{{rep}}.log",
    threads: THREADS
    resources:
        mem_mb=lambda wc: 3000 + 2 * int(wc.npos),
        runtime=lambda wc: 20 + int(wc.npos) // 100,
    shell:
        "{PYTHON} scripts/learning_curve.py {LC_ROOT} --job {wildcards.grammar}:{wildcards.recipe}:"
        "{wildcards.npos}:{wildcards.rep} --threads {threads} --bootstrap {BOOTSTRAP} {MOTIFS} "
        "--redo > {log} 2>&1"


rule learning_curve_report:
    input:
        expand(f"{LC_ROOT}/jobs/{{grammar}}_{{recipe}}_{{npos}}_{{rep}}.json", grammar=GRAMMARS,
               recipe=RECIPES, npos=POSITIVES, rep=REPLICATES),
    output:
        f"{LC_ROOT}/learning_curve.md",
        f"{LC_ROOT}/learning_curve.csv",
        f"{LC_ROOT}/learning_curve.png",
    shell:
        "{PYTHON} scripts/learning_curve.py {LC_ROOT} --report > /dev/null"
