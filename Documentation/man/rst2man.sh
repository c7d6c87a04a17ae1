#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build a man page from its reStructuredText (Documentation/man/*.rst,
# which include the parts of Documentation/*.rst they show), failing on
# any docutils warning.  Then two changes for a terminal: docutils draws
# tables with box rules, which grotty cannot draw at a page top, and
# justifies lines, which long literals (JSON replies) cannot fill; plain
# tables and left-adjusted text render without groff warnings.
# usage: rst2man.sh IN.rst OUT
set -euo pipefail
in=$1
out=$2
rst2man --halt=warning --no-generator --no-datestamp --no-source-link "$in" "$out.tmp"
sed -i -e '/^center;$/{n;s/|//g}' -e 's/^\.TH .*/&\n.ad l/' "$out.tmp"
awk '/^\.TS/ { t = 1 } /^\.TE/ { t = 0 } !(t && /^_$/)' "$out.tmp" >"$out"
rm -f "$out.tmp"
