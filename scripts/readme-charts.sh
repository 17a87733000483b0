#!/usr/bin/env bash
# Draws the charts README.md and docs/ show (output/readme/*.png) again, each with the
# command the page shows beside it: it runs the docs test (tests/integration/docs.rs)
# in its writing mode, which copies every chart a block draws over the committed one
# instead of comparing them (docs/contributing.md has the markers).
#   scripts/readme-charts.sh            the simulated charts (a few seconds)
#   scripts/readme-charts.sh --measure  also the charts measured on real servers on
#                                       this machine (validate --target builtin: about
#                                       a minute of real processes)
# Then commit what `git status output/readme/` shows as changed.
set -euo pipefail
cd "$(dirname "$0")/.."
export EAGAIN_DOCS_CHARTS=write
case "${1:-}" in
  --measure) export EAGAIN_DOCS_MEASURE=1 ;;
  "") ;;
  *) echo "usage: scripts/readme-charts.sh [--measure]" >&2; exit 2 ;;
esac
cargo test --release --test integration \
  docs::every_command_the_docs_show_runs_and_every_chart_they_show_is_current -- --nocapture
git status --short output/readme/ 2>/dev/null || true
