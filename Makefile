# The two commands of README.md: `make demo` (the main job) and `make test`.
.PHONY: setup demo test workflow docs

setup:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh

# The demo study through workflow/Snakefile on this machine (2 cores): three demo cell
# lines, prepare/train/evaluate/motifs, cross-cell matrix, baselines, genome-wide scores.
workflow:
	bash scripts/setup.sh
	PATH="$(CURDIR)/.venv/bin:$$PATH" TF_CPP_MIN_LOG_LEVEL=2 snakemake -s workflow/Snakefile \
		--configfile workflow/config/demo.yaml --profile workflow/profiles/local

# The documentation site (mkdocs.yml) into site/, offline; --strict fails on a broken link
# or a missing reference (tests/test_docs.py builds it the same way).
docs:
	bash scripts/setup.sh
	NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict
