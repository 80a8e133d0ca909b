#!/usr/bin/env bash
# PrairieLearn external-grader entrypoint for chatlab (docs/PLATFORMS.md).
#
# Grades the student's files in /grade/student into /grade/results/results.json
# (`--format prairielearn`), with /grade/serverFilesCourse/chatlab/rubric.toml when the
# question ships one. The grader exits 0 (every check passed) or 1 (some failed) once it
# has written the results; on anything else (a bad rubric, a crash, a kill, no file)
# this script writes a "not gradable" result instead: no score, no attempt used.
#
# Arguments are passed on to `python -m grader check` (e.g. --only core).
# CHATLAB_GRADE replaces /grade (to try it elsewhere), CHATLAB_PYTHON the interpreter
# (default python3), CHATLAB_RUBRIC the rubric file.
set -uo pipefail
ROOT="${CHATLAB_GRADE:-/grade}"
PYTHON="${CHATLAB_PYTHON:-python3}"
RUBRIC="${CHATLAB_RUBRIC:-$ROOT/serverFilesCourse/chatlab/rubric.toml}"
RESULTS="$ROOT/results/results.json"
mkdir -p "$ROOT/results"  # PrairieLearn does not make it
rm -f "$RESULTS"  # whatever is there was not written by this run
args=(check "$ROOT/student" --format prairielearn --output "$RESULTS")
if [ -f "$RUBRIC" ]; then
    args+=(--rubric "$RUBRIC")
fi
"$PYTHON" -m grader "${args[@]}" "$@"
status=$?
if [ "$status" -gt 1 ] || [ ! -s "$RESULTS" ]; then
    echo "chatlab: the grader exited with status $status; writing 'not gradable'" >&2
    printf '%s\n' '{"gradable": false, "message": "The autograder could not grade this submission — not your fault. Please tell your instructor; you may resubmit meanwhile."}' \
        > "$RESULTS.tmp.$$" && mv -f "$RESULTS.tmp.$$" "$RESULTS"
fi
exit 0
