#!/usr/bin/env bash
# Voila's configuration for an environment (scripts/setup.sh's .venv, Binder's postBuild):
# jupytext (brought by the docs' mkdocs-jupyter) ships a JupyterLab extension that fails to load in
# voila's page ("The getter for the shared module is not a function"); the dashboards need none of
# it, so voila, standalone or as a Jupyter server extension, is told to skip it.
#   bash scripts/voila_config.sh PYTHON      (the environment's python)
set -euo pipefail
conf="$("${1:-python}" -c 'import sys; print(sys.prefix)')/etc/jupyter"
mkdir -p "$conf/jupyter_server_config.d"
deny='{"VoilaConfiguration": {"extension_denylist": ["jupyterlab-jupytext"]}}'
echo "$deny" > "$conf/voila.json"
echo "$deny" > "$conf/jupyter_server_config.d/speid-voila.json"
