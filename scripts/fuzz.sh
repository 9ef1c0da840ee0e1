#!/usr/bin/env bash
# Runs one libFuzzer harness (Sources/Fuzz) for SECONDS.
#
#   scripts/fuzz.sh TARGET [SECONDS] [libFuzzer options...]
#   TARGET: FuzzSafeTensors FuzzImage FuzzTokenizer FuzzConfig FuzzMultipart FuzzJSONBody FuzzTorchCheckpoint
#
# Builds TARGET in release with -sanitize=fuzzer,address (Swift modules, also C targets through -Xcc) and
# explicit coverage (edge, inline 8-bit counters, PC table, comparison tracing) into .build-fuzz, seeds
# .fuzz/TARGET/corpus from Tests/FuzzSeeds/TARGET (and the image fixtures for FuzzImage), and runs libFuzzer
# on that corpus. Crash inputs land in .fuzz/TARGET/artifacts/; replay one with a normal build:
#   swift build --product TARGET && .build/debug/TARGET .fuzz/TARGET/artifacts/crash-...
# FUZZ_SKIP_BUILD=1 runs the last build as it is.
# FUZZ_COVERAGE=default builds without the explicit -sanitize-coverage flags (into .build-fuzz-default),
# to compare libFuzzer's "cov:" figures.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${1:?usage: scripts/fuzz.sh TARGET [SECONDS] [libFuzzer options...]}
seconds=${2:-60}
shift $(( $# >= 2 ? 2 : 1 ))

case "$target" in
    FuzzSafeTensors) max_len=65536 ;;
    FuzzImage) max_len=65536 ;;
    FuzzTokenizer) max_len=16384 ;;
    FuzzConfig) max_len=8192 ;;
    FuzzMultipart) max_len=16384 ;;
    FuzzJSONBody) max_len=16384 ;;
    FuzzTorchCheckpoint) max_len=65536 ;;
    *) echo "fuzz.sh: unknown target $target" >&2; exit 2 ;;
esac

scratch=.build-fuzz
flags=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -DFUZZING -Xcc -fsanitize=fuzzer-no-link,address)
if [ "${FUZZ_COVERAGE:-explicit}" = default ]; then
    scratch=.build-fuzz-default
else
    # `edge,trace-cmp` alone selects trace-pc-guard, which this libFuzzer refuses at start-up.
    flags+=(-Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp)
fi
if [ "${FUZZ_SKIP_BUILD:-0}" != 1 ]; then
    swift build -c release --scratch-path "$scratch" --product "$target" "${flags[@]}"
fi

work=.fuzz/$target
mkdir -p "$work/corpus" "$work/artifacts"
if [ -d "Tests/FuzzSeeds/$target" ]; then cp -n "Tests/FuzzSeeds/$target"/* "$work/corpus/" 2>/dev/null || true; fi
if [ "$target" = FuzzImage ]; then
    find Tests/BLIPTests/Fixtures/images Tests/BLIPTests/Fixtures/tiny/images -type f \
        \( -name '*.png' -o -name '*.jpg' -o -name '*.webp' -o -name '*.bin' \) -size -64k \
        -exec cp -n {} "$work/corpus/" \;
fi

# Let libFuzzer report traps (Swift runtime errors) itself, without the Swift backtracer's delay; no
# allocation stacks in ASan reports (recording them took ~15 % of the tokenizer harness's time; replay a
# crash without ASAN_OPTIONS for them).
export SWIFT_BACKTRACE=enable=no
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1:malloc_context_size=0}
exec "$scratch/release/$target" "$work/corpus" -max_total_time="$seconds" -max_len="$max_len" \
    -rss_limit_mb=2048 -timeout=10 -detect_leaks=0 -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@"
