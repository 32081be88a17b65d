#!/usr/bin/env python3
"""Side by side with llama.cpp: our `bench` and `llama-bench` on the same GGUF files, alternating.

For each file and round it runs `inference-service bench FILE --json` and then `llama-bench -m FILE -o json`
with the same prompt / generation lengths, repetitions and thread count, and prints a Markdown table:
pp and tg tokens/s of both (the median over the rounds of each run's mean), their ratios (ours /
llama.cpp), our tg as a fraction of the bandwidth roofline (bench's triad / the tensor bytes) and our
peak RSS. Alternating the two programs per file keeps a noisy host's drift out of the ratios as far as
possible; with --rounds > 1 every round's figures are printed too.

Only the Python standard library is used. llama-bench is not part of this project: point --llama-bench at
a build of it (docs/performance.md says how the AMX comparison was built).

Example (the issue's table, two cores):
  scripts/side_by_side.py --llama-bench ~/llama.cpp/build/bin/llama-bench --rounds 2 \\
      qwen-q4_k_m.gguf qwen-q8_0.gguf llama-q4_k_m.gguf llama-q8_0.gguf
"""

import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys


def run_json(cmd):
    """Runs cmd, returns its stdout parsed as JSON; exits with the command's stderr on failure."""
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"side_by_side: {shlex.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    try:
        return json.loads(proc.stdout)
    except json.JSONDecodeError as e:
        sys.exit(f"side_by_side: {shlex.join(cmd)} printed no JSON ({e}):\n{proc.stdout[-2000:]}")


def ours(args, path):
    cmd = args.prefix + [args.ours, "bench", path, "-p", str(args.p), "-n", str(args.n), "-r", str(args.r), "-t",
                         str(args.t), "--json"] + args.ours_args
    d = run_json(cmd)
    return {
        "pp": d["pp"]["tokens_per_s_mean"] if args.p > 0 else None,
        "tg": d["tg"]["tokens_per_s_mean"] if args.n > 0 else None,
        "roofline": d.get("tg_fraction_of_roofline"),
        "rss_mib": d["peak_rss_bytes"] / 2**20,
        "isa": d.get("isa"),
        "amx": d.get("amx"),
    }


def llama(args, path):
    cmd = args.prefix + [args.llama_bench, "-m", path, "-p", str(args.p), "-n", str(args.n), "-r", str(args.r), "-t",
                         str(args.t), "-o", "json"] + args.llama_args
    result = {"pp": None, "tg": None}
    for test in run_json(cmd):
        if test.get("n_prompt", 0) > 0 and test.get("n_gen", 0) == 0:
            result["pp"] = test["avg_ts"]
        elif test.get("n_gen", 0) > 0 and test.get("n_prompt", 0) == 0:
            result["tg"] = test["avg_ts"]
    return result


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt(v, spec=".1f"):
    return "-" if v is None else format(v, spec)


def ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("files", nargs="+", help="GGUF files (each loadable by both programs)")
    parser.add_argument("--llama-bench", required=True, help="path of llama.cpp's llama-bench")
    parser.add_argument("--ours", default=os.path.join(os.path.dirname(__file__), "..", "build", "inference-service"),
                        help="path of inference-service (default: build/inference-service)")
    parser.add_argument("-p", type=int, default=512, help="prompt tokens (default 512; 0 skips pp)")
    parser.add_argument("-n", type=int, default=128, help="generated tokens (default 128; 0 skips tg)")
    parser.add_argument("-r", type=int, default=3, help="repetitions per run, both programs (default 3)")
    parser.add_argument("-t", type=int, default=2, help="threads, both programs (default 2)")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds per file (default 1)")
    parser.add_argument("--taskset", help="run both programs under `taskset -c CPUS` (e.g. 0,2)")
    parser.add_argument("--ours-args", default="", help="extra arguments for our bench (one string)")
    parser.add_argument("--llama-args", default="", help="extra arguments for llama-bench (one string)")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    for program in (args.llama_bench, args.ours):
        if not os.access(program, os.X_OK):
            parser.error(f"{program}: not an executable file")
    args.prefix = ["taskset", "-c", args.taskset] if args.taskset else []
    args.ours_args = shlex.split(args.ours_args)
    args.llama_args = shlex.split(args.llama_args)

    rows = []
    for path in args.files:
        rounds = []
        for i in range(args.rounds):
            o, l = ours(args, path), llama(args, path)
            rounds.append((o, l))
            if args.rounds > 1:
                print(f"{os.path.basename(path)} round {i + 1}: pp {fmt(o['pp'])} / {fmt(l['pp'])}, "
                      f"tg {fmt(o['tg'], '.2f')} / {fmt(l['tg'], '.2f')}", file=sys.stderr, flush=True)
        o_pp, l_pp = median([o["pp"] for o, _ in rounds]), median([l["pp"] for _, l in rounds])
        o_tg, l_tg = median([o["tg"] for o, _ in rounds]), median([l["tg"] for _, l in rounds])
        roof = median([o["roofline"] for o, _ in rounds])
        rss = max(o["rss_mib"] for o, _ in rounds)
        rows.append((os.path.basename(path), o_pp, l_pp, o_tg, l_tg, roof, rss, rounds))

    first = rows[0][7][0][0]
    print(f"ours: isa {first['isa']}, amx {first['amx']}; -p {args.p} -n {args.n} -r {args.r} -t {args.t}, "
          f"{args.rounds} round(s) per file, medians of the rounds")
    print()
    print(f"| file | pp{args.p} ours / llama.cpp | ratio | tg{args.n} ours / llama.cpp | ratio | roofline | peak RSS |")
    print("|---|---|---:|---|---:|---:|---:|")
    for name, o_pp, l_pp, o_tg, l_tg, roof, rss, _ in rows:
        print(f"| {name} | {fmt(o_pp)} / {fmt(l_pp)} | {fmt(ratio(o_pp, l_pp), '.2f')} | {fmt(o_tg, '.2f')} / "
              f"{fmt(l_tg, '.2f')} | {fmt(ratio(o_tg, l_tg), '.2f')} | "
              f"{'-' if roof is None else format(100 * roof, '.0f') + '%'} | {rss:.1f} MiB |")
    if args.rounds > 1:
        print()
        print("Per round (ours / llama.cpp): " + "; ".join(
            f"{name} " + ", ".join(f"{fmt(o['pp'])}/{fmt(l['pp'])} {fmt(o['tg'], '.2f')}/{fmt(l['tg'], '.2f')}"
                                   for o, l in rounds) for name, *_, rounds in rows))


if __name__ == "__main__":
    main()
