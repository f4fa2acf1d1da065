#!/usr/bin/env bash
# The public API listing of totp-enroll, checked: regenerates it from rustdoc's JSON
# (nightly) and fails when it differs from the committed api/totp-enroll.txt, so every
# change to the public API shows in the diff of the change that makes it.
#
#   bash scripts/check_public_api.sh           # check (CI)
#   bash scripts/check_public_api.sh --write   # after an intended change: rewrite the listing
set -euo pipefail
cd "$(dirname "$0")/.."

toolchain="${API_TOOLCHAIN:-nightly}"
target_dir=$(cargo metadata --format-version 1 --no-deps |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
cargo "+$toolchain" rustdoc -q -p totp-enroll --lib --all-features -- \
    -Z unstable-options --output-format json
listing="$target_dir/public-api.txt"
python3 scripts/public_api.py "$target_dir/doc/totp_enroll.json" >"$listing"

if [ "${1:-}" = "--write" ]; then
    cp "$listing" api/totp-enroll.txt
    echo "api/totp-enroll.txt rewritten ($(wc -l <api/totp-enroll.txt) lines)"
    exit 0
fi
if ! diff -u api/totp-enroll.txt "$listing"; then
    echo "public API changed: review the diff above, then run" \
        "'bash scripts/check_public_api.sh --write' and commit api/totp-enroll.txt" >&2
    exit 1
fi
python3 - api/totp-enroll.txt <<'PY'
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
item = re.compile(r"^pub (?:struct|enum|trait|type|use|macro|static|const|fn) totp_enroll::(\w+)(?:$|[ <(!]|:(?!:))")
roots = {m.group(1) for m in map(item.match, lines) if m}
modules = [l for l in lines if re.match(r"^pub mod totp_enroll::\w+$", l)]
print(f"public API unchanged: {len(lines)} lines; {len(roots)} names and {len(modules)} modules at the crate root")
PY
