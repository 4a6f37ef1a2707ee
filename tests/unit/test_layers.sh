#!/usr/bin/env bash
# The layering rule, checked on #include lines: the transport (fcgi/) and the processes outside
# lib/ (runner/, hook/, jobs/) reach storage only through lib/service. No file there may include,
# directly or through the project headers it includes, a header of lib/store/ or lib/db/, or one
# of MariaDB Connector/C++. Fails naming the include chain.
#
#   tests/unit/test_layers.sh [SOURCE_DIR]     (default: the checkout holding this script)
set -euo pipefail

root=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
cd "$root"

# The headers a file includes: project headers as paths from the root ("lib/service/env.h"),
# system headers as <name>.
includes() {
  sed -nE -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]+)".*/\1/p' \
    -e 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*<([^>]+)>.*/<\1>/p' "$1"
}

forbidden() {
  case $1 in
    lib/store/* | lib/db/* | "<cppconn/"* | "<mysql"*) return 0 ;;
    *) return 1 ;;
  esac
}

failures=0
checked=0
for top in fcgi runner hook jobs; do
  [[ -d $top ]] || continue
  declare -A parent=()
  queue=()
  while IFS= read -r f; do
    queue+=("$f")
    parent[$f]=""
  done < <(find "$top" -type f \( -name '*.cpp' -o -name '*.h' \) | sort)
  while ((${#queue[@]})); do
    file=${queue[0]}
    queue=("${queue[@]:1}")
    checked=$((checked + 1))
    while IFS= read -r inc; do
      if forbidden "$inc"; then
        chain=$inc
        at=$file
        while [[ -n $at ]]; do
          chain="$at -> $chain"
          at=${parent[$at]}
        done
        echo "FAIL: $top/ reaches storage other than through lib/service: $chain"
        failures=$((failures + 1))
        continue
      fi
      [[ $inc == "<"* || ! -f $inc || -v parent[$inc] ]] && continue
      parent[$inc]=$file
      queue+=("$inc")
    done < <(includes "$file")
  done
  unset parent
done

if ((checked == 0)); then
  echo "FAIL: no source files found under $root (fcgi/, runner/, hook/)"
  exit 1
fi
if ((failures)); then
  echo "$failures forbidden include(s); use or add a lib/service function instead"
  exit 1
fi
echo "ok: $checked files of fcgi/, runner/, hook/ and the headers they include reach storage only through lib/service"
