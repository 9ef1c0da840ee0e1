#!/usr/bin/env bash
# Checks `blip capfilt` scale-out for real with the tiny fixture models over 4 small WebDataset
# shards: one local run, the Slurm job-array script run as 3 array tasks (its environment set as
# Slurm sets it), and the PySpark driver in Spark's local mode (local[2]) must write the same
# files (stats compared without their timings); then every output tar is read back with the
# `webdataset` package. Needs `pip install pyspark webdataset` and Java 17.
#
#   scripts/capfilt_scaleout_check.sh
# Environment: BLIP_BIN (default .build/release/blip when built, else .build/debug/blip).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${BLIP_BIN:-}" ]; then
    if [ -x .build/release/blip ]; then BLIP_BIN=.build/release/blip; else BLIP_BIN=.build/debug/blip; fi
fi
[ -x "$BLIP_BIN" ] || swift build --product blip
BLIP_BIN="$(realpath "$BLIP_BIN")"
F="$PWD/Tests/BLIPTests/Fixtures"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
mkdir -p "$WORK/in"
for i in 0 1 2 3; do cp "Tests/BLIPDataTests/Fixtures/webdataset/0000$((i % 2)).tar" "$WORK/in/0000$i.tar"; done
OPTIONS="--captioner $F/tiny --filter $F/tiny-itm --num-captions 3 --keep-top 2 --threshold 0.3 --seed 11 --batch-size 2"
INPUT="$WORK/in/{00000..00003}.tar"

echo "== one local run"
# shellcheck disable=SC2086
"$BLIP_BIN" capfilt $OPTIONS --threads 1 --output "$WORK/single" "$INPUT"

echo "== Slurm job array, 3 tasks"
for id in 0 1 2; do
    SLURM_ARRAY_TASK_ID=$id SLURM_ARRAY_TASK_MIN=0 SLURM_ARRAY_TASK_COUNT=3 SLURM_CPUS_PER_TASK=1 \
        BLIP_BIN="$BLIP_BIN" CAPFILT_OPTIONS="$OPTIONS" bash scripts/capfilt_slurm.sbatch "$WORK/slurm" "$INPUT"
done

echo "== Spark local mode"
# shellcheck disable=SC2086
python3 scripts/capfilt_spark.py --master 'local[2]' --blip "$BLIP_BIN" --output "$WORK/spark" -- $OPTIONS "$INPUT" \
    > "$WORK/spark.json" 2> "$WORK/spark.log" || { tail -30 "$WORK/spark.log"; exit 1; }
python3 -c "import json,sys; print('spark totals:', json.load(open(sys.argv[1]))['totals'])" "$WORK/spark.json"

python3 - "$WORK/single" "$WORK/slurm" "$WORK/spark" <<'PY'
import json, os, sys
def files(d):
    out = {}
    for name in sorted(os.listdir(d)):
        if name.startswith("."):
            raise SystemExit(f"{d}: temporary file {name} left behind")
        data = open(os.path.join(d, name), "rb").read()
        if name.endswith("_stats.json") or name == "summary.json":
            s = json.loads(data); s.pop("seconds", None); data = json.dumps(s, sort_keys=True).encode()
        out[name] = data
    return out
single = files(sys.argv[1])
for other in sys.argv[2:]:
    got = files(other)
    if got != single:
        diff = sorted(set(got) ^ set(single)) or [k for k in single if got.get(k) != single[k]]
        raise SystemExit(f"{other} differs from the single run: {diff}")
print(f"scale-out check: {len(single)} files equal in the single, Slurm and Spark runs")
PY
python3 scripts/capfilt_reference.py check-output "$WORK/single"
