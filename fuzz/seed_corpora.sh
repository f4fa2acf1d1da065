#!/usr/bin/env bash
# Writes seed inputs into fuzz/corpus/<target>/ for every fuzz target:
#   1. the checked-in seeds, fuzz/seeds/<target>/* (copied as they are);
#   2. hand-written edge cases (below): good and bad otpauth URIs, base32 keys and codes;
#   3. inputs derived from the RFC test vectors in tests/vectors/*.txt, when those exist.
# Seed files are named by the SHA-1 of their content, as libFuzzer names its own, so running
# the script again (or after a fuzzing run) adds nothing twice. Existing corpus files are kept.
#
# Usage: bash fuzz/seed_corpora.sh            (from anywhere)
#        FUZZ_CORPUS_DIR=/tmp/c bash fuzz/seed_corpora.sh
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$FUZZ_DIR")"
CORPUS="${FUZZ_CORPUS_DIR:-$FUZZ_DIR/corpus}"
VECTORS="$ROOT/tests/vectors"
# Targets with generated seeds below; every directory in seeds/ is copied as well.
TARGETS=(uri_parse secret_base32 code_input verify recovery_code)

# put_stdin TARGET: stores standard input as one seed of TARGET.
put_stdin() {
    local dir="$CORPUS/$1" tmp hash
    mkdir -p "$dir"
    tmp="$(mktemp "$CORPUS/.seed.XXXXXX")"
    cat >"$tmp"
    hash="$(sha1sum "$tmp" | cut -c1-40)"
    mv -f "$tmp" "$dir/$hash"
}

# put TARGET TEXT...: stores each TEXT, byte for byte, as a seed of TARGET.
put() {
    local target=$1 text
    shift
    for text in "$@"; do
        printf '%s' "$text" | put_stdin "$target"
    done
}

# pct TEXT: RFC 3986 percent-encoding of everything but unreserved characters.
pct() {
    local out="" h
    for h in $(printf '%s' "$1" | od -An -tx1 -v); do
        case $h in
            2d | 2e | 5f | 7e | 3[0-9] | 4[1-9a-f] | 5[0-9a] | 6[1-9a-f] | 7[0-9a])
                out+="$(printf "\\x$h")" ;;
            *) out+="%${h^^}" ;;
        esac
    done
    printf '%s' "$out"
}

# b32 TEXT: unpadded uppercase RFC 4648 base32 of TEXT's bytes.
b32() { printf '%s' "$1" | base32 -w0 | tr -d '='; }

# grouped TEXT N: TEXT with a space after every N characters (the setup-key display).
grouped() { printf '%s' "$1" | sed -E "s/(.{$2})/\\1 /g; s/ \$//"; }

# fullwidth DIGITS: ASCII digits as full-width digits (U+FF10..U+FF19), as an IME types them.
fullwidth() { printf '%s' "$1" | sed 's/0/０/g; s/1/１/g; s/2/２/g; s/3/３/g; s/4/４/g; s/5/５/g; s/6/６/g; s/7/７/g; s/8/８/g; s/9/９/g'; }

# le VALUE BYTES: VALUE as BYTES little-endian bytes, in printf's \x notation.
le() {
    local v=$1 n=$2 i out=""
    for ((i = 0; i < n; i++)); do out+="$(printf '\\x%02x' $(((v >> (8 * i)) & 255)))"; done
    printf '%s' "$out"
}

# verify_seed SECRET ALG DIGITS PERIOD BEHIND AHEAD TIME LAST CODE AIM
# Writes one input of the `verify` target in the byte layout that `arbitrary` 1.x decodes its
# `Input` struct from (see fuzz_targets/verify.rs; `cargo fuzz fmt verify FILE` prints it):
#   SECRET  the key as ASCII text        ALG     0 SHA1, 1 SHA256, 2 SHA512
#   DIGITS  6, 7 or 8                    PERIOD  seconds (u16)
#   BEHIND, AHEAD  window steps          TIME    Unix seconds (-1 for u64::MAX)
#   LAST    none | abs:STEP | rel:OFFSET (OFFSET from the current step, -128..127)
#   CODE    the submitted code's value   AIM     none | OFFSET: submit the true code of
#                                                 the step OFFSET from now instead of CODE
verify_seed() {
    local secret=$1 alg=$2 digits=$3 period=$4 behind=$5 ahead=$6 time=$7 last=$8 code=$9 aim=${10}
    local fmt="" h
    # Vec<u8>: each element preceded by a "more" byte (odd = one more), then a 0 byte.
    for h in $(printf '%s' "$secret" | od -An -tx1 -v); do fmt+="\\x01\\x$h"; done
    fmt+="\\x00"
    fmt+="$(le "$alg" 1)$(le $((digits - 6)) 1)$(le "$period" 2)$(le "$behind" 1)$(le "$ahead" 1)"
    fmt+="$(le "$time" 8)"
    case $last in
        none) fmt+="\\x00" ;;
        abs:*) fmt+="\\x01$(le 0 4)$(le "${last#abs:}" 8)" ;;      # variant 0: Absolute(u64)
        rel:*) fmt+="\\x01$(le -1 4)$(le "${last#rel:}" 1)" ;;     # variant 1: Relative(i8)
        *) echo "verify_seed: bad LAST '$last'" >&2; return 1 ;;
    esac
    fmt+="$(le "$code" 4)"
    case $aim in
        none) fmt+="\\x00" ;;
        *) fmt+="\\x01$(le "$aim" 1)" ;;
    esac
    # shellcheck disable=SC2059 # the format is built above from \x escapes only
    printf "$fmt" | put_stdin verify
}

SEED_SHA1="12345678901234567890"
SEED_SHA256="12345678901234567890123456789012"
SEED_SHA512="1234567890123456789012345678901234567890123456789012345678901234"
JP_ISSUER="北洋証券オンラインサービス"
JP_ISSUER_PCT="$(pct "$JP_ISSUER")"
GOOD_KEY="JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"

mkdir -p "$CORPUS"

# 1. Checked-in seeds, for every target that has a directory in seeds/.
for target in "${TARGETS[@]}"; do
    mkdir -p "$CORPUS/$target"
done
for dir in "$FUZZ_DIR"/seeds/*/; do
    [ -d "$dir" ] || continue
    target="$(basename "$dir")"
    mkdir -p "$CORPUS/$target"
    find "$dir" -maxdepth 1 -type f -exec cp -f {} "$CORPUS/$target/" \;
done

# 2. Hand-written edge cases.

# uri_parse: good URIs.
put uri_parse \
    "otpauth://totp/ACME%20Co:john.doe@email.com?secret=HXDMVJECJJWSRB3HWIZR4IFUGFTMXBOZ&issuer=ACME%20Co&algorithm=SHA1&digits=6&period=30" \
    "otpauth://totp/${JP_ISSUER_PCT}:$(pct "taro yamada")?secret=${GOOD_KEY}&issuer=${JP_ISSUER_PCT}&algorithm=SHA1&digits=6&period=30" \
    "otpauth://totp/${JP_ISSUER}:山田太郎?secret=${GOOD_KEY}&issuer=${JP_ISSUER}" \
    "otpauth://totp/${JP_ISSUER_PCT}:$(pct "山田太郎")?secret=$(grouped "$(tr 'A-Z' 'a-z' <<<"$GOOD_KEY")" 4 | sed 's/ /%20/g')" \
    "otpauth://totp/alice@example.com?secret=${GOOD_KEY}&issuer=Example" \
    "otpauth://totp/Example:%20%20alice@example.com?secret=${GOOD_KEY}" \
    "OTPAUTH://TOTP/Example:alice?secret=${GOOD_KEY}&issuer=Example&algorithm=sha-256&digits=8&period=60" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&issuer=Example&algorithm=SHA512&digits=07&period=0600" \
    "otpauth://totp/Example:alice?image=https%3A%2F%2Fexample.com%2Flogo.png&secret=${GOOD_KEY}=%3D%3D&color=red&issuer=Example" \
    "otpauth://totp/a+b:c+d?secret=${GOOD_KEY}&issuer=a+b"
# uri_parse: refused URIs.
put uri_parse \
    "otpauth://totp/Example:alice@google.com?secret=JBSWY3DPEHPK3PXP&issuer=Example" \
    "otpauth://hotp/Example:alice?secret=${GOOD_KEY}&issuer=Example&counter=0" \
    "otpauth://HOTP/Example:alice?secret=${GOOD_KEY}&counter=1" \
    "otpauth://steam/Example:alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&secret=${GOOD_KEY}&issuer=Example" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&issuer=Example&issuer=Example" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&digits=6&digits=8" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&period=30&period=30" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&algorithm=SHA1&algorithm=SHA1" \
    "otpauth://totp/Exa%GGmple:alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice%?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice%2?secret=${GOOD_KEY}" \
    "otpauth://totp/%E5%8C:alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&issuer=%FF" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}%" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}#fragment" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&issuer=Other" \
    "otpauth://totp/alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice?issuer=Example" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&digits=10" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&digits=+6" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&period=0" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&period=99999999999" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&algorithm=MD5" \
    "otpauth://totp/Example:alice:bob?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice%3Abob?secret=${GOOD_KEY}" \
    "otpauth://totp/:alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice%00?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:alice%0A?secret=${GOOD_KEY}" \
    "otpauth://totp/?secret=${GOOD_KEY}&issuer=Example" \
    "otpauth://totp/Example:alice?secret=${GOOD_KEY}&&issuer=Example" \
    "otpauth://totp/Example:alice?secret" \
    "otpauth://totp/Example:alice?secret=ILEHO2TX7RXH3TQUXSJ58GCJCDOXO" \
    "otpauth://totp/$(printf 'I%.0s' {1..129}):alice?secret=${GOOD_KEY}" \
    "otpauth://totp/Example:$(printf 'a%.0s' {1..257})?secret=${GOOD_KEY}" \
    "otpauth://totp" "otpauth://" "otpauth:/totp/Example:alice" \
    "https://example.com/totp/Example:alice?secret=${GOOD_KEY}" ""

# secret_base32.
put secret_base32 \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ" \
    "ILEHO2TX7RXH3TQUXSJ58GCJCDOXO" \
    "ILEHO2TX7RXH3TQUXSJ5BGCJCDOXO" \
    "$GOOD_KEY" "JBSWY3DPEHPK3PXP" "JBSWY3DPEHPK3PXP====" \
    "jbsw y3dp ehpk 3pxp jbsw y3dp ehpk 3pxp" \
    "JBSW-Y3DP-EHPK-3PXP-JBSW-Y3DP-EHPK-3PXP" \
    "$(printf 'JBSW\tY3DP\r\nEHPK 3PXP\nJBSW Y3DP EHPK 3PXP\n')" \
    "JBSW　Y3DP　EHPK　3PXP　JBSW　Y3DP　EHPK　3PXP" \
    "ＪＢＳＷＹ３ＤＰＥＨＰＫ３ＰＸＰＪＢＳＷＹ３ＤＰＥＨＰＫ３ＰＸＰ" \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZA====" \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZB" \
    "GEZD=GNBVGY3TQOJQGEZDGNBVGY3TQOJQ" \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQG" \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZ" \
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGEZDGN" \
    "0O1I8B9G" "" "   " "====" "-" \
    "$(printf 'A%.0s' {1..208})" "$(printf 'A%.0s' {1..205})" \
    "$(printf 'A %.0s' {1..300})"

# code_input.
put code_input \
    "287 082" "287082" " 028 708 " "028-708" "028　708" "　028708　" \
    "０２８７０８" "２８７ ０８２" "28708２" "+81804" "٢٨٧٠٨٢" "२८७०८२" \
    "028  708" "-287082" "287082-" "2870820" "28708" "94287082" "9428 7082" \
    "123 4567" "1234567" "1 2 3 4 5 6" "1-2-3-4-5-6-7-8" "287_082" "287.082" \
    "287\t082" "$(printf '\t287082\n')" "$(printf '287\t082')" "1e5" "0x1234" \
    "" "   " "-" "$(printf '1%.0s' {1..65})" "$(printf '０%.0s' {1..22})" \
    "999999999" "4294967296"

# recovery_code.
put recovery_code \
    "7K3M-9QXR-2HV8-T4NP" "7K3M9QXR2HV8T4NP" "7k3m 9qxr-2hv8 t4np" $' 7K3M-9QXR-2HV8-T4NP\n' \
    "OOOO-IIII-LLLL-0000" "oooo iiii llll 1111" "７Ｋ３Ｍー９ＱＸＲー２ＨＶ８ーＴ４ＮＰ" \
    "　７ｋ３ｍ　９ｑｘｒ　２ｈｖ８　ｔ４ｎｐ　" "７Ｋ３Ｍ－９ＱＸＲ－２ＨＶ８－Ｔ４ＮＰ" \
    "7K3M‐9QXR‑2HV8‒T4NP" "7K3M–9QXR−2HV8-T4NP" "7K3M-9QXR-2HV8-T4NU" "7K3M-9QXR-2HV8-T4NＵ" \
    "7K3M--9QXR-2HV8-T4NP" "-7K3M-9QXR-2HV8-T4NP" "7K3M-9QXR-2HV8-T4NP-" "7K3M-9QXR-2HV8-T4N" \
    "7K3M-9QXR-2HV8-T4NP0" "7K3M_9QXR_2HV8_T4NP" "$(printf '7K3M\t9QXR')" "287 082" \
    "" "   " "-" "$(printf '0%.0s' {1..129})" "$(printf '０　%.0s' {1..16})"

# verify (bytes in arbitrary's layout: see verify_seed).
verify_seed "$SEED_SHA1" 0 6 30 1 1 59 none 287082 none
verify_seed "$SEED_SHA1" 0 6 30 1 1 59 rel:0 287082 none
verify_seed "$SEED_SHA1" 0 6 30 1 1 59 rel:1 0 1
verify_seed "$SEED_SHA1" 0 6 30 10 10 0 none 0 -5
verify_seed "$SEED_SHA1" 0 6 5 10 10 -1 none 0 10
verify_seed "$SEED_SHA1" 1 7 600 0 0 -1 abs:-1 0 0
verify_seed "$SEED_SHA256" 1 8 30 2 3 1700000000 rel:-1 0 -2
verify_seed "$SEED_SHA512" 2 8 30 1 1 1700000000 abs:56666666 0 0
verify_seed "$(printf 'k%.0s' {1..128})" 2 6 30 1 1 1700000000 none 0 1
verify_seed "$(printf 'k%.0s' {1..16})" 0 6 30 1 1 1700000000 none 123456 none

# 3. Inputs derived from the RFC test vectors, when present.
# rfc4226_hotp.txt: count hmac trunc dec hotp (SHA-1, 6 digits, the 20-byte ASCII seed).
if [ -f "$VECTORS/rfc4226_hotp.txt" ]; then
    while read -r count _ _ _ hotp; do
        put code_input "$hotp" "${hotp:0:3} ${hotp:3}" "$(fullwidth "$hotp")"
        # As TOTP: period 30 puts counter `count` at time 30 * count.
        verify_seed "$SEED_SHA1" 0 6 30 1 1 $((30 * count)) none "$((10#$hotp))" none
        verify_seed "$SEED_SHA1" 0 6 30 1 1 $((30 * count + 29)) "rel:-1" "$((10#$hotp))" none
    done < <(grep -v '^#' "$VECTORS/rfc4226_hotp.txt" | grep -E '^[0-9]')
    put secret_base32 "$(b32 "$SEED_SHA1")" "$(grouped "$(b32 "$SEED_SHA1")" 4)"
fi
# rfc6238_totp.txt: time date clock step totp mode (8 digits, 30 s, per-mode ASCII seeds).
if [ -f "$VECTORS/rfc6238_totp.txt" ]; then
    while read -r time _ _ _ totp mode; do
        case $mode in
            SHA1) alg=0 seed=$SEED_SHA1 ;;
            SHA256) alg=1 seed=$SEED_SHA256 ;;
            SHA512) alg=2 seed=$SEED_SHA512 ;;
            *) continue ;;
        esac
        put code_input "$totp" "${totp:0:4} ${totp:4}" "$(fullwidth "$totp")"
        verify_seed "$seed" "$alg" 8 30 1 1 "$time" none "$((10#$totp))" none
        verify_seed "$seed" "$alg" 8 30 1 1 "$time" rel:0 "$((10#$totp))" none
        put uri_parse "otpauth://totp/RFC6238:${mode}%20${time}?secret=$(b32 "$seed")&issuer=RFC6238&algorithm=${mode}&digits=8&period=30"
    done < <(grep -v '^#' "$VECTORS/rfc6238_totp.txt" | grep -E '^[0-9]')
    for seed in "$SEED_SHA1" "$SEED_SHA256" "$SEED_SHA512"; do
        put secret_base32 "$(b32 "$seed")" "$(grouped "$(b32 "$seed")" 4)" \
            "$(b32 "$seed" | tr 'A-Z' 'a-z')" "$(printf '%s' "$seed" | base32 -w0)"
    done
fi

for dir in "$CORPUS"/*/; do
    target="$(basename "$dir")"
    printf 'seeded %-14s %4d files in %s\n' "$target" \
        "$(find "$CORPUS/$target" -maxdepth 1 -type f | wc -l)" "$CORPUS/$target"
done
