#!/bin/sh
# Run scripts/oracle-pysigma.py under scripts/.venv, creating the venv (pysigma==1.5.1,
# pysigma-backend-kusto==1.0.1) if it is missing. Arguments go to the script; see its --help.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install -q pysigma==1.5.1 pysigma-backend-kusto==1.0.1
fi
exec "$venv/bin/python" "$here/oracle-pysigma.py" "$@"
