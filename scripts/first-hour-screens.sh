#!/bin/sh
# Take the screens of docs/first-hour.md again (docs/screens/*.png): the demo served on a free port,
# a patron and a referent in Chromium. Needs the test extra (pytest, Playwright's Chromium).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"
SESAME_SCREENS_DIR="$PWD/docs/screens" exec "$PYTHON" -m pytest -p no:cacheprovider -q \
    tests/browser/test_first_hour_screens.py "$@"
