# The two commands of README.md: `make demo` (the main job) and `make test`.
.PHONY: setup demo test

setup:
	bash scripts/setup.sh

demo:
	bash scripts/demo.sh

test:
	bash scripts/test.sh
