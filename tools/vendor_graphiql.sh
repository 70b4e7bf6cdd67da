#!/usr/bin/env bash
# Re-fetches the third-party files the GraphiQL page needs, at pinned versions, from the npm registry
# (through `npm pack`, so whatever registry npm is configured with), checks each tarball against its pinned
# sha512 integrity, and copies the distribution files unmodified, each with its LICENSE, into
# src/sessions_gql/static/graphiql/vendor/<package>-<version>/.
#
#   tools/vendor_graphiql.sh          # (re)write the vendored files
#   tools/vendor_graphiql.sh --check  # fail if the committed files differ from the pinned packages
#
# Only this script needs npm; `make run` serves the committed files. To upgrade, change a version, set its
# integrity to the `dist.integrity` that `npm view NAME@VERSION dist.integrity` prints, run the script, update
# the paths in src/sessions_gql/graphiql.py and run the browser test (tests/browser/test_graphiql.py).
set -euo pipefail
cd "$(dirname "$0")/.."

# name version integrity files...
PACKAGES=(
  "react 18.3.1 sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ== umd/react.production.min.js LICENSE"
  "react-dom 18.3.1 sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw== umd/react-dom.production.min.js LICENSE"
  "graphiql 3.8.3 sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw== graphiql.min.js graphiql.min.css LICENSE"
)
DEST=src/sessions_gql/static/graphiql/vendor
CHECK=0
[ "${1:-}" = "--check" ] && CHECK=1

command -v npm >/dev/null || { echo "npm is needed to fetch the packages (Debian: apt-get install npm)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

for entry in "${PACKAGES[@]}"; do
  read -r name version integrity files <<<"$entry"
  tarball=$(cd "$work" && npm pack --silent "$name@$version")
  actual="sha512-$(openssl dgst -sha512 -binary "$work/$tarball" | base64 -w0)"
  if [ "$actual" != "$integrity" ]; then
    echo "$name@$version: integrity mismatch: expected $integrity, got $actual" >&2
    exit 1
  fi
  mkdir -p "$work/$name"
  tar -xzf "$work/$tarball" -C "$work/$name"
  target="$DEST/$name-$version"
  for file in $files; do
    source="$work/$name/package/$file"
    [ -f "$source" ] || { echo "$name@$version has no $file" >&2; exit 1; }
    if [ "$CHECK" = 1 ]; then
      if ! cmp -s "$source" "$target/$(basename "$file")"; then
        echo "differs from $name@$version: $target/$(basename "$file")" >&2
        status=1
      fi
    else
      mkdir -p "$target"
      cp "$source" "$target/$(basename "$file")"
    fi
  done
  echo "$name@$version ok"
done
exit $status
