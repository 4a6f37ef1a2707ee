#!/usr/bin/env bash
# No file in the repository refers to a file outside it: a clone must hold every rule its code
# and docs cite (docs/development.md#comments-and-tests). Fails on any of
#   ../shared   platform.md   style.md   decisions.md §N / decisions §N   extensions.md
# in a tracked file. Only .ci/run (which runs the shared conformance suite next to the
# checkout) may name ../shared. Cite docs/ instead, e.g. docs/api.md#tokens.
set -euo pipefail
KOD_SOURCE=${KOD_SOURCE:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$KOD_SOURCE"
self=tests/docs/test_no_outside_refs.sh
allowed=(.ci/run "$self")
pattern='\.\./shared|(^|[^-[:alnum:]_])(platform|style|extensions)\.md|decisions(\.md)? ?§'
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  mapfile -t files < <(git ls-files)
else
  mapfile -t files < <(find . -type f -not -path './.git/*' -not -path './build*' -not -path './tools/npm/node_modules/*' | sed 's|^\./||')
fi
hits=()
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  skip=0
  for a in "${allowed[@]}"; do [[ $f == "$a" ]] && skip=1; done
  ((skip)) && continue
  while IFS= read -r line; do hits+=("$f:$line"); done < <(grep -nIE "$pattern" "$f" || true)
done
if ((${#hits[@]})); then
  printf 'FAIL reference outside the repository: %s\n' "${hits[@]}"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok: ${#files[@]} tracked files name no file outside the repository"
echo "1 passed, 0 failed"
