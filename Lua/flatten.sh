#!/usr/bin/env bash
# Prints a Lua script with every `-- @include "name"` line replaced by Lua/include/name.lua,
# each include once per script, recursively: the same text the Swift ScriptLibrary loads.
#   redis-cli --eval <(Lua/flatten.sh Lua/claim-5.lua) key1 key2 key3 key4 key5 , arg1 arg2 ...
set -euo pipefail
if [[ $# -ne 1 || ! -f $1 ]]; then
  echo "usage: $0 SCRIPT.lua" >&2
  exit 2
fi
include_dir="$(cd "$(dirname "$1")" && pwd)/include"
declare -A seen=()

flatten() {
  local file=$1 depth=$2 line name
  if (( depth >= 16 )); then
    echo "flatten.sh: includes nested too deeply in $file" >&2
    exit 1
  fi
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ ^[[:space:]]*--\ @include\ \"([^\"]+)\"[[:space:]]*$ ]]; then
      name=${BASH_REMATCH[1]}
      [[ -n ${seen[$name]:-} ]] && continue
      seen[$name]=1
      if [[ ! -r $include_dir/$name.lua ]]; then
        echo "flatten.sh: $file includes \"$name\", but $include_dir/$name.lua cannot be read" >&2
        exit 1
      fi
      flatten "$include_dir/$name.lua" $((depth + 1))
    else
      printf '%s\n' "$line"
    fi
  done < "$file"
}

flatten "$1" 0
