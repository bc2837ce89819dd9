#!/usr/bin/env bash
# CI: the HTML report builds from the README's install alone (`pip install -e '.[workflow]'`, no
# [test] extra) and its captions are clean reStructuredText. A fresh venv, the micro DAG run to
# `report` in a copy of the workflow, then fails (exit 1) when report.html is missing or when the
# run's output, the report job's log or report.html carries a docutils message.
# Usage: .ci/report_check.sh [VENV]   (default /tmp/ppp-report-venv, recreated every time;
# PPP_REPORT_REUSE_VENV=1 keeps one that exists, for reruns by hand)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
venv=${1:-/tmp/ppp-report-venv}
start=$(date +%s)

if [ "${PPP_REPORT_REUSE_VENV:-0}" = 1 ] && [ -x "$venv/bin/snakemake" ]; then
  echo "report_check: reusing $venv (PPP_REPORT_REUSE_VENV=1)"
else
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q -e "$root[workflow]"
fi
installed=$(date +%s)
echo "report_check: venv with [workflow] in $((installed - start)) s"

# The workflow's files in a scratch folder, as tests/helpers.py workflow_copy: the micro config is
# the default there (--configfile merges nested keys into config.yaml). Links followed (-L):
# config/config.schema.yaml points into pppcore/. Kept when the check fails, for a look.
work=$(mktemp -d /tmp/ppp-report-check.XXXXXX)
cp Snakefile "$work/"
# Narrowed to what the report needs (zeros and none, one size): every table and figure, half the jobs.
"$venv/bin/python" - "$work/config.yaml" <<'PY'
import sys, yaml
config = yaml.safe_load(open("tests/micro.yaml"))
config["train"]["paddings"] = ["zeros", "none"]
config["ppp"]["input_sizes"] = [64]
open(sys.argv[1], "w").write(yaml.safe_dump(config))
PY
for folder in rules workflow_scripts config envs report profiles; do
  cp -rL "$folder" "$work/"
done
out="$work/snakemake.out"
status=0
(cd "$work" && "$venv/bin/snakemake" report --cores 2 --configfile "$work/config.yaml") \
  >"$out" 2>&1 || status=$?
echo "report_check: micro DAG to report in $(($(date +%s) - installed)) s (exit $status)"

fail=0
html="$work/results/report.html"
if [ "$status" -ne 0 ] || [ ! -s "$html" ]; then
  echo "report_check: FAIL: the report was not built; the run's last lines:" >&2
  tail -n 40 "$out" >&2
  fail=1
fi
# docutils reports as "<string>:12: (ERROR/3) ..." (levels INFO/1 to SEVERE/4) on stderr (the report
# rule's log has the inner `snakemake --report`'s output); report.html shows them as "System Message"
# boxes (class system-message) under "Docutils System Messages". Its class="docutils" tables are fine.
pattern='\((INFO/1|WARNING/2|ERROR/3|SEVERE/4)\)|Docutils|System Message'
logs=("$out")
[ -f "$work/results/logs/report.log" ] && logs+=("$work/results/logs/report.log")
if grep -En "$pattern" "${logs[@]}" >&2; then
  echo "report_check: FAIL: docutils messages in the run's output or the report log (above)" >&2
  fail=1
fi
html_pattern='System Message[^<]{0,80}|system-message|Docutils System Messages'
if [ -f "$html" ] && grep -Eo "$html_pattern" "$html" | sort | uniq -c >&2; then
  echo "report_check: FAIL: report.html carries docutils messages (above)" >&2
  fail=1
fi
echo "report_check: took $(($(date +%s) - start)) s in all"
if [ "$fail" -ne 0 ]; then
  echo "report_check: the run is kept in $work" >&2
  exit 1
fi
rm -rf "$work"
echo "report_check: report built, no docutils message"
