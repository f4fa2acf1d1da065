#!/usr/bin/env bash
# CI entry point for the fuzz targets: build every target, seed the corpora, run each target
# for a bounded time (one job, one worker), and fail on any crash, panic, assertion, leak,
# timeout or out-of-memory. Works from a clean clone (creates fuzz/corpus/).
#
# Environment:
#   FUZZ_SECONDS    seconds per target (libFuzzer -max_total_time); default 30
#   FUZZ_TARGETS    space-separated subset of targets; default: all of `cargo fuzz list`
#   FUZZ_TOOLCHAIN  rustup toolchain with -Zsanitizer support; default nightly
#   FUZZ_ARGS       extra libFuzzer flags for every target (e.g. "-seed=1")
#
# Usage: bash fuzz/smoke.sh                     (from anywhere)
#        FUZZ_SECONDS=600 FUZZ_TARGETS=verify bash fuzz/smoke.sh
set -euo pipefail

FUZZ_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$FUZZ_DIR"

SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}"
TOOLCHAIN="${FUZZ_TOOLCHAIN:-nightly}"
LOG_DIR="$FUZZ_DIR/target/smoke-logs"
start_all=$SECONDS

if ! [[ "$SECONDS_PER_TARGET" =~ ^[0-9]+$ ]] || [ "$SECONDS_PER_TARGET" -lt 1 ]; then
    echo "smoke: FUZZ_SECONDS must be a positive integer, not '$SECONDS_PER_TARGET'" >&2
    exit 2
fi
if ! cargo "+$TOOLCHAIN" --version >/dev/null 2>&1; then
    echo "smoke: the $TOOLCHAIN toolchain is missing; trying rustup" >&2
    rustup toolchain install "$TOOLCHAIN" --profile minimal
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "smoke: cargo-fuzz is missing; installing it" >&2
    cargo install cargo-fuzz --locked
fi

if [ -n "${FUZZ_TARGETS:-}" ]; then
    read -r -a targets <<<"$FUZZ_TARGETS"
else
    mapfile -t targets < <(cargo "+$TOOLCHAIN" fuzz list)
fi
if [ "${#targets[@]}" -eq 0 ]; then
    echo "smoke: no fuzz targets" >&2
    exit 2
fi

# The cargo-fuzz default build: release profile with debug assertions and overflow checks,
# AddressSanitizer, libFuzzer coverage instrumentation. `cargo fuzz run` below uses the same
# flags, so it reuses these artifacts instead of building again.
echo "smoke: building ${targets[*]}"
build_start=$SECONDS
mkdir -p "$LOG_DIR"
build_log="$LOG_DIR/build.log"
: >"$build_log"
for target in "${targets[@]}"; do
    if ! cargo "+$TOOLCHAIN" fuzz build "$target" >>"$build_log" 2>&1; then
        tail -n 60 "$build_log" >&2
        echo "smoke: building $target failed (log: $build_log)" >&2
        exit 1
    fi
done
echo "smoke: build took $((SECONDS - build_start)) s"

bash "$FUZZ_DIR/seed_corpora.sh"

failed=()
summary=()
for target in "${targets[@]}"; do
    log="$LOG_DIR/$target.log"
    dict=()
    if [ -f "$FUZZ_DIR/dictionaries/$target.dict" ]; then
        dict=("-dict=$FUZZ_DIR/dictionaries/$target.dict")
    fi
    # shellcheck disable=SC2086 # FUZZ_ARGS is a list of flags
    extra=(${FUZZ_ARGS:-})
    echo "smoke: running $target for ${SECONDS_PER_TARGET} s (log: $log)"
    run_start=$SECONDS
    status=0
    cargo "+$TOOLCHAIN" fuzz run "$target" -- \
        -max_total_time="$SECONDS_PER_TARGET" \
        -print_final_stats=1 \
        -timeout=10 \
        -rss_limit_mb=2048 \
        -max_len=4096 \
        "${dict[@]}" "${extra[@]}" >"$log" 2>&1 || status=$?
    elapsed=$((SECONDS - run_start))
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n1)"
    corpus_files="$(find "corpus/$target" -maxdepth 1 -type f | wc -l)"
    if [ "$status" -eq 0 ]; then
        line="$(printf '%-14s ok     %12s executions in %4d s, corpus %5d files' \
            "$target" "${execs:-?}" "$elapsed" "$corpus_files")"
    else
        failed+=("$target")
        artifact="$(sed -n 's/.*Test unit written to \([^ ]*\).*/\1/p' "$log" | tail -n1)"
        line="$(printf '%-14s FAILED %12s executions in %4d s, exit %d, artifact %s' \
            "$target" "${execs:-?}" "$elapsed" "$status" "${artifact:-none}")"
        echo "---- $target: excerpt of $log ----" >&2
        if grep -qE "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer" "$log"; then
            # sed, not head: it reads to the end, so no SIGPIPE under pipefail.
            grep -E -A3 "panicked at|ERROR: libFuzzer|ERROR: AddressSanitizer|SUMMARY" "$log" | sed -n '1,40p' >&2
        else
            tail -n 40 "$log" >&2
        fi
        echo "---- reproduce: cargo +$TOOLCHAIN fuzz run $target ${artifact:-ARTIFACT} ----" >&2
    fi
    summary+=("$line")
    echo "smoke: $line"
done

echo
echo "fuzz smoke summary (${SECONDS_PER_TARGET} s per target, total $((SECONDS - start_all)) s):"
printf '  %s\n' "${summary[@]}"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "smoke: FAILED: ${failed[*]}" >&2
    exit 1
fi
