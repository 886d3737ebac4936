#!/bin/sh
# mk/lint-c.sh [ROOT] — the C checks of `make lint` over ROOT (default: the
# repository): banned functions, DESIGN.md's include rules and the public
# headers' prefixes (the rules are in mk/lint-c.awk). Prints
# FILE:LINE: error: ... for each finding and a last line with the count;
# exits 1 when there is any. tests/integration/lint.sh plants findings in
# a copy to check that it fails.
HERE=$(cd "$(dirname "$0")" && pwd)
cd "${1:-$HERE/..}" || exit 2
files=$(find engine stores gateway cli tests -name '*.[ch]' -type f 2>/dev/null | LC_ALL=C sort)
if [ -z "$files" ]; then echo "lint-c: no C files under $(pwd)" >&2; exit 2; fi
# shellcheck disable=SC2086 # one word a path: the tree has no spaces in names
awk -f "$HERE/lint-c.awk" $files
rc=$?
n=$(echo "$files" | wc -l)
if [ $rc = 0 ]; then echo "lint-c: $n files, no findings"; else echo "lint-c: $n files, findings above"; fi
exit $rc
