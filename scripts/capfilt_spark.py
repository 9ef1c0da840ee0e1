#!/usr/bin/env python3
"""`blip capfilt` on a Spark cluster: the driver asks the binary for the shard plan, spreads the
shards over the executors (one Spark task per shard: mapPartitions runs the binary as a
subprocess with --shard-index i --shard-count N, so shard i is done by task i) and collects each
shard's NNNNN_stats.json. OUTPUT must be a folder every executor sees (NFS, Lustre...); a failed
task is retried by Spark and finished shards are skipped, so the job resumes as a single run does.

  spark-submit scripts/capfilt_spark.py --blip /opt/blip/bin/blip --output /shared/capfilt \\
      -- --captioner /models/blip-large --filter /models/blip-itm-large-coco '/shared/data/{00000..00999}.tar'

  python3 scripts/capfilt_spark.py --master 'local[2]' --blip .build/release/blip --output OUT -- ARGS...

Everything after `--` is passed to `blip capfilt` (options and inputs; not --output or
--shard-index/--shard-count). Prints the per-shard stats and the run's totals as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys


def shard_plan(blip: str, output: str, args: list[str]) -> list[dict]:
    out = subprocess.run([blip, "capfilt", "--list-shards", "--output", output, *args], check=True,
                         capture_output=True, text=True).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--blip", required=True, help="path of the blip binary on every executor")
    ap.add_argument("--output", required=True, help="output folder every executor sees")
    ap.add_argument("--master", help="Spark master (spark-submit sets it; e.g. local[2] to try it here)")
    ap.add_argument("--threads", type=int, default=1, help="--threads of each blip process (one per Spark task)")
    ap.add_argument("capfilt_args", nargs=argparse.REMAINDER, help="-- then blip capfilt options and inputs")
    a = ap.parse_args()
    args = a.capfilt_args[1:] if a.capfilt_args[:1] == ["--"] else a.capfilt_args
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("blip-capfilt")
    if a.master:
        builder = builder.master(a.master)
    spark = builder.getOrCreate()
    plan = shard_plan(a.blip, a.output, args)
    n = len(plan)
    print(f"capfilt_spark: {n} shards, {sum(s['done'] for s in plan)} already done", file=sys.stderr)
    blip, output, threads = a.blip, a.output, a.threads

    def run_shards(indices):
        for i in indices:
            command = [blip, "capfilt", "--output", output, "--shard-index", str(i), "--shard-count", str(n),
                       "--threads", str(threads), *args]
            done = subprocess.run(command, capture_output=True, text=True)
            if done.returncode != 0:
                raise RuntimeError(f"shard {i}: blip capfilt exited {done.returncode}: {done.stderr[-2000:]}")
            with open(os.path.join(output, f"{i:05d}_stats.json")) as f:
                yield json.load(f)

    stats = spark.sparkContext.parallelize(range(n), numSlices=max(n, 1)).mapPartitions(run_shards).collect()
    spark.stop()
    totals = {k: sum(s[k] for s in stats) for k in ("samples", "failed", "web_total", "web_kept", "synthetic_total",
                                                      "synthetic_kept", "written")}
    print(json.dumps({"shards": stats, "totals": totals}, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
