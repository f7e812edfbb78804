"""Runs the side-by-side comparison and prints the performance table (README.md).

Each measurement is a process of its own (a runner: compare_nabla, compare_tinydnn,
compare_fann, or compare_torch.py) that prints one "RESULT {json}" line. The measurements of a
round alternate between systems; after all rounds the median of each is taken and the table
is printed in Markdown, with nabla's row, the ratios, and the peak memory of each run.

Called by run.sh, which builds the runners first:
    compare.py --bin BUILD_DIR [--rounds N] [--quick] [--json FILE] [--systems a,b]
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TORCH_PYTHON = "/usr/bin/python3"  # Debian's torch belongs to the system Python
OPENBLAS_OPENMP = "/usr/lib/x86_64-linux-gnu/openblas-openmp"
MALLOC_TUNING = "glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824"

SYSTEM_NAMES = {
    "nabla": "nabla (GEMM: {gemm})",
    "plain": "a plain hand-written Eigen step",
    "pytorch": "PyTorch {torch} CPU + OpenBLAS",
    "tiny-dnn": "tiny-dnn 1.0.0a3 (AVX)",
    "fann": "FANN 2.2",
}

# Time budgets in seconds: (full run, --quick). A W1 run stops after one epoch or its budget,
# whichever comes first (slow systems then report the rate of a partial epoch).
BUDGET = {"W1": (40.0, 30.0), "W2": (4.0, 1.0), "W3": (1.0, 0.1)}
SLOW_W1_BUDGET = 12.0       # tiny-dnn trains W1 at a few hundred samples/s: a sample of it
QUICK_STEPS = {"W1": 10, "W2": 1, "W3": 20000}


class Measurement:
    """One process to run: a system on a workload with a thread count and variant."""

    def __init__(self, system, workload, threads, variant, command, env=None):
        self.system = system
        self.workload = workload
        self.threads = threads
        self.variant = variant
        self.command = command
        self.env = env

    def key(self):
        return (self.system, self.workload, self.threads, self.variant)


def torch_env(threads, tuned):
    """PyTorch's environment: OpenBLAS (OpenMP build) first on the library path, the OpenBLAS
    overrides unset, and the glibc malloc tuning when `tuned`."""
    env = dict(os.environ)
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "GLIBC_TUNABLES"):
        env.pop(name, None)
    if os.path.isdir(OPENBLAS_OPENMP):
        env["LD_LIBRARY_PATH"] = OPENBLAS_OPENMP + (
            ":" + env["LD_LIBRARY_PATH"] if env.get("LD_LIBRARY_PATH") else "")
    env["OMP_NUM_THREADS"] = str(threads)
    if tuned:
        env["GLIBC_TUNABLES"] = MALLOC_TUNING
    return env


def torch_available():
    """True when the system Python imports torch."""
    if not os.path.exists(TORCH_PYTHON):
        return False
    probe = subprocess.run([TORCH_PYTHON, "-c", "import torch, numpy"], capture_output=True)
    return probe.returncode == 0


def plan(args):
    """The measurements of one round, in the order they alternate, and the systems skipped."""
    runners = {}
    skipped = []
    for system, exe in (("nabla", "compare_nabla"), ("tiny-dnn", "compare_tinydnn"),
                        ("tiny-dnn-mt", "compare_tinydnn_mt"), ("fann", "compare_fann")):
        path = os.path.join(args.bin, exe)
        if os.access(path, os.X_OK):
            runners[system] = path
        elif system == "nabla":
            sys.exit("compare.py: %s is missing; run run.sh, which builds it" % path)
        elif system != "tiny-dnn-mt":
            skipped.append("%s (%s not built: the library is not installed)" % (system, exe))
    if torch_available():
        runners["pytorch"] = os.path.join(HERE, "compare_torch.py")
    else:
        skipped.append("pytorch (%s cannot import torch: apt-get install python3-torch)"
                       % TORCH_PYTHON)
    wanted = set(args.systems.split(",")) if args.systems else None

    def common(workload, threads, system):
        budget = BUDGET[workload][1 if args.quick else 0]
        if workload == "W1" and system in ("tiny-dnn", "fann"):
            budget = min(budget, SLOW_W1_BUDGET)
        flags = ["--workload", workload, "--threads", str(threads), "--seconds", str(budget),
                 "--data", args.data]
        if args.quick:
            flags += ["--max-steps", str(QUICK_STEPS[workload])]
        return flags

    out = []
    for workload in ("W1", "W2", "W3"):
        for threads in ((1,) if workload == "W3" else (1, 2)):
            group = []
            nabla_variants = (("fixed", "dynamic") if workload == "W3" else ("nabla",))
            for v in nabla_variants:
                for system, variant in (("nabla", v), ("plain", "plain" if v == "nabla"
                                                       else "plain-" + v)):
                    group.append(Measurement(system, workload, threads, variant,
                                             [runners["nabla"]] + common(workload, threads, system)
                                             + ["--variant", variant]))
            # Double precision: nabla and PyTorch (malloc-tuned, its faster setting), full runs.
            double = workload != "W3" and not args.quick
            if double:
                group.append(Measurement(
                    "nabla", workload, threads, "nabla-double",
                    [runners["nabla"]] + common(workload, threads, "nabla")
                    + ["--variant", "nabla-double"]))
            if "pytorch" in runners:
                for tuned in ((False,) if args.quick else (False, True)):
                    variant = "malloc-tuned" if tuned else "default"
                    if args.quick and threads > 1:
                        continue
                    group.append(Measurement(
                        "pytorch", workload, threads, variant,
                        [TORCH_PYTHON, runners["pytorch"]] + common(workload, threads, "pytorch")
                        + ["--variant", variant], torch_env(threads, tuned)))
                if double:
                    group.append(Measurement(
                        "pytorch", workload, threads, "double-malloc-tuned",
                        [TORCH_PYTHON, runners["pytorch"]] + common(workload, threads, "pytorch")
                        + ["--variant", "double-malloc-tuned", "--double"],
                        torch_env(threads, True)))
            # tiny-dnn's threaded build always starts one thread per CPU.
            tiny = runners.get("tiny-dnn" if threads == 1 else "tiny-dnn-mt")
            if threads > 1 and os.cpu_count() != threads:
                tiny = None
            if tiny and not (args.quick and (threads > 1 or workload == "W2")):
                group.append(Measurement("tiny-dnn", workload, threads, "avx",
                                         [tiny] + common(workload, threads, "tiny-dnn")))
            if "fann" in runners and threads == 1:
                group.append(Measurement("fann", workload, threads, "float",
                                         [runners["fann"]] + common(workload, threads, "fann")))
            out.extend(m for m in group if wanted is None or m.system in wanted)
    if args.quick:
        notes = []
        if "tiny-dnn" in runners:
            notes.append("tiny-dnn: W2 (minutes per step) and 2 threads")
        if "pytorch" in runners:
            notes.append("PyTorch: 2 threads and the malloc tuning")
        if notes:
            skipped.append("--quick leaves out " + "; ".join(notes))
    return out, skipped


def run_one(m, log):
    """Runs one measurement; returns its result dict or None (and logs why)."""
    started = time.monotonic()
    try:
        proc = subprocess.run(m.command, env=m.env, capture_output=True, text=True,
                              timeout=900)
    except subprocess.TimeoutExpired:
        log("  FAILED (timeout): %s" % " ".join(m.command))
        return None
    lines = [l for l in proc.stdout.splitlines() if l.startswith("RESULT ")]
    if proc.returncode != 0 or len(lines) != 1:
        log("  FAILED (status %d): %s\n%s" % (proc.returncode, " ".join(m.command),
                                              proc.stderr.strip()[-2000:]))
        return None
    result = json.loads(lines[0][len("RESULT "):])
    result["wall_seconds"] = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------
# The table

def fmt_rate(x):
    return "—" if x is None else "{:,.0f}".format(x)


def fmt_ns(x):
    if x is None:
        return "—"
    return "{:,.0f}".format(x) if x >= 100 else "{:.1f}".format(x)


def fmt_ratio(x):
    return "—" if x is None else "{:.2f}×".format(x)


class Medians:
    """The median of every measured field over the rounds, by (system, workload, threads,
    variant)."""

    def __init__(self, results):
        self.groups = {}
        for r in results:
            key = (r["system"], r["workload"], r["threads"], r["variant"])
            self.groups.setdefault(key, []).append(r)

    def get(self, system, workload, threads, variant, field):
        runs = self.groups.get((system, workload, threads, variant))
        if not runs:
            return None
        return statistics.median(r[field] for r in runs)

    def rate(self, system, workload, threads, variant):
        return self.get(system, workload, threads, variant, "samples_per_s")

    def ns(self, system, variant):
        return self.get(system, "W3", 1, variant, "ns_per_step")

    def first(self, system, workload, threads, variant):
        runs = self.groups.get((system, workload, threads, variant))
        return runs[0] if runs else None


def variants_of(system, workload):
    if system == "pytorch":
        return ("default", "malloc-tuned")
    if system == "nabla":
        return ("fixed", "dynamic") if workload == "W3" else ("nabla",)
    if system == "plain":
        return ("plain-fixed", "plain-dynamic") if workload == "W3" else ("plain",)
    return {"tiny-dnn": ("avx",), "fann": ("float",)}[system]


def speed_cells(med, system):
    """The W1/W2 rate cells and the W3 cell of one system's row."""
    cells = []
    for workload in ("W1", "W2"):
        for threads in (1, 2):
            if system == "pytorch":
                a = med.rate(system, workload, threads, "default")
                b = med.rate(system, workload, threads, "malloc-tuned")
                cell = fmt_rate(a) if b is None else "%s (%s tuned)" % (fmt_rate(a), fmt_rate(b))
                if a is None and b is not None:
                    cell = "%s tuned" % fmt_rate(b)
            else:
                cell = fmt_rate(med.rate(system, workload, threads,
                                         variants_of(system, workload)[0]))
            if workload == "W1" and cell != "—":
                frac = med.get(system, "W1", threads, variants_of(system, "W1")[0],
                               "epoch_fraction")
                if frac is not None and frac < 0.999:
                    cell += " (%.0f%% of an epoch)" % (100 * frac)
            cells.append(cell)
    if system in ("nabla", "plain"):
        fixed, dynamic = variants_of(system, "W3")
        d, f = med.ns(system, dynamic), med.ns(system, fixed)
        cells.append("%s (%s fixed-size)" % (fmt_ns(d), fmt_ns(f)) if f is not None
                     else fmt_ns(d))
    elif system == "pytorch":
        a, b = med.ns(system, "default"), med.ns(system, "malloc-tuned")
        cells.append(fmt_ns(a) if b is None else "%s (%s tuned)" % (fmt_ns(a), fmt_ns(b)))
    else:
        cells.append(fmt_ns(med.ns(system, variants_of(system, "W3")[0])))
    return cells


def accuracy_cell(med, system):
    variant = variants_of(system, "W1")[0]
    acc = med.get(system, "W1", 1, variant, "accuracy")
    if acc is None or acc < 0:
        return "—"
    frac = med.get(system, "W1", 1, variant, "epoch_fraction")
    return "%.2f%%%s" % (100 * acc, "" if frac >= 0.999 else " (after %.0f%% of an epoch)"
                         % (100 * frac))


def ratio_row(med, peer):
    """nabla ÷ peer for each column (above 1: nabla is faster)."""
    cells = []
    for workload in ("W1", "W2"):
        for threads in (1, 2):
            ours = med.rate("nabla", workload, threads, "nabla")
            peer_variants = variants_of(peer, workload)
            theirs = [med.rate(peer, workload, threads, v) for v in peer_variants]
            if ours is None or theirs[0] is None:
                cells.append("—")
            elif peer == "pytorch" and theirs[1] is not None:
                cells.append("%s (%s vs tuned)" % (fmt_ratio(ours / theirs[0]),
                                                   fmt_ratio(ours / theirs[1])))
            else:
                cells.append(fmt_ratio(ours / theirs[0]))
    dyn, fixed = med.ns("nabla", "dynamic"), med.ns("nabla", "fixed")
    if peer == "plain":
        pd, pf = med.ns("plain", "plain-dynamic"), med.ns("plain", "plain-fixed")
        cells.append("%s (%s fixed-size)" % (fmt_ratio(pd / dyn if pd and dyn else None),
                                             fmt_ratio(pf / fixed if pf and fixed else None)))
    else:
        theirs = med.ns(peer, variants_of(peer, "W3")[0])
        if theirs is None or dyn is None:
            cells.append("—")
        else:
            cells.append("%s (%s fixed-size)" % (fmt_ratio(theirs / dyn),
                                                 fmt_ratio(theirs / fixed) if fixed else "—"))
    return cells


def report(results, args, skipped, elapsed, failures):
    med = Medians(results)
    systems = [s for s in ("nabla", "plain", "pytorch", "tiny-dnn", "fann")
               if any(k[0] == s for k in med.groups)]
    torch_version = "?"
    torch_note = ""
    for key, runs in med.groups.items():
        if key[0] == "pytorch":
            torch_note = runs[0]["note"]
            torch_version = torch_note.split()[1].split("a")[0] if torch_note else "?"

    def system_name(system):
        return SYSTEM_NAMES[system].format(torch=torch_version, gemm=args.gemm)

    lines = []
    lines.append("## Side by side (%s, %d round%s, medians)" % (
        "quick" if args.quick else "full", args.rounds, "" if args.rounds == 1 else "s"))
    lines.append("")
    lines.append("Training samples per second (W3: nanoseconds per step, lower is better).")
    lines.append("")
    lines.append("| system | W1 1 thread | W1 2 threads | W2 1 thread | W2 2 threads "
                 "| W3 ns/step | W1 test accuracy |")
    lines.append("|---|---|---|---|---|---|---|")
    for s in systems:
        name = system_name(s)
        cells = speed_cells(med, s) + [accuracy_cell(med, s)]
        lines.append("| %s | %s |" % (name, " | ".join(cells)))
    lines.append("")
    lines.append("nabla ÷ peer (speed ratio; above 1 means nabla is faster; W3 compares "
                 "nabla's run-time sizes, and in brackets its fixed sizes):")
    lines.append("")
    lines.append("| nabla ÷ | W1 1 thread | W1 2 threads | W2 1 thread | W2 2 threads | W3 |")
    lines.append("|---|---|---|---|---|---|")
    for s in systems:
        if s != "nabla":
            lines.append("| %s | %s |" % (system_name(s),
                                         " | ".join(ratio_row(med, s))))
    lines.append("")

    if med.rate("nabla", "W1", 1, "nabla-double") is not None:
        lines.append("Double precision (training samples per second):")
        lines.append("")
        lines.append("| system | W1 1 thread | W1 2 threads | W2 1 thread | W2 2 threads "
                     "| W1 test accuracy |")
        lines.append("|---|---|---|---|---|---|")
        for s, variant in (("nabla", "nabla-double"), ("pytorch", "double-malloc-tuned")):
            rates = [med.rate(s, w, t, variant) for w in ("W1", "W2") for t in (1, 2)]
            if all(r is None for r in rates):
                continue
            acc = med.get(s, "W1", 1, variant, "accuracy")
            frac = med.get(s, "W1", 1, variant, "epoch_fraction")
            acc_cell = "—" if acc is None or acc < 0 else "%.2f%%%s" % (
                100 * acc, "" if frac >= 0.999 else " (after %.0f%% of an epoch)" % (100 * frac))
            name = system_name(s) + (" (malloc-tuned)" if s == "pytorch" else "")
            lines.append("| %s | %s | %s |" % (name, " | ".join(fmt_rate(r) for r in rates),
                                               acc_cell))
        ratios = []
        for w in ("W1", "W2"):
            for t in (1, 2):
                ours = med.rate("nabla", w, t, "nabla-double")
                theirs = med.rate("pytorch", w, t, "double-malloc-tuned")
                ratios.append(fmt_ratio(ours / theirs) if ours and theirs else "—")
        lines.append("| nabla ÷ PyTorch | %s | |" % " | ".join(ratios))
        lines.append("")

    # The issue's own checks.
    w1 = med.rate("nabla", "W1", 1, "nabla")
    w1_2 = med.rate("nabla", "W1", 2, "nabla")
    w2 = med.rate("nabla", "W2", 1, "nabla")
    w2_2 = med.rate("nabla", "W2", 2, "nabla")
    acc = med.get("nabla", "W1", 1, "nabla", "accuracy")
    plain_acc = med.get("plain", "W1", 1, "plain", "accuracy")
    torch_w1 = med.rate("pytorch", "W1", 1, "default")
    torch_w2t = med.rate("pytorch", "W2", 1, "malloc-tuned")
    checks = []
    if w1 is not None:
        checks.append("W1 1 thread %s samples/s (target 150,000%s)" % (
            fmt_rate(w1), "; %s PyTorch, target 1.6×" % fmt_ratio(w1 / torch_w1)
            if torch_w1 else ""))
    if w1 and w1_2:
        checks.append("W1 2 threads ÷ 1 thread %s (target 1.6×)" % fmt_ratio(w1_2 / w1))
    if w2 is not None:
        checks.append("W2 1 thread %s samples/s (target 10,000%s)" % (
            fmt_rate(w2), "; %s tuned PyTorch, target 1.15×" % fmt_ratio(w2 / torch_w2t)
            if torch_w2t else ""))
    if w2_2 is not None:
        checks.append("W2 2 threads %s samples/s (target 19,000)" % fmt_rate(w2_2))
    torch_w1t = med.rate("pytorch", "W1", 1, "malloc-tuned")
    if w1 and torch_w1t:
        checks.append("W1 1 thread ÷ tuned PyTorch %s (target 2.5×)" % fmt_ratio(w1 / torch_w1t))
    if w2 and torch_w2t:
        checks.append("W2 1 thread ÷ tuned PyTorch %s (target 1.5×)" % fmt_ratio(w2 / torch_w2t))
    if w2 and w2_2:
        checks.append("W2 2 threads ÷ 1 thread %s (target 1.85×)" % fmt_ratio(w2_2 / w2))
    fixed_ns, plain_fixed_ns = med.ns("nabla", "fixed"), med.ns("plain", "plain-fixed")
    if fixed_ns and plain_fixed_ns:
        checks.append("W3 fixed-size step ÷ the plain fixed-size step's time %.2f (target at "
                      "most 0.5)" % (fixed_ns / plain_fixed_ns))
    if med.ns("nabla", "fixed") is not None:
        checks.append("W3 %s ns fixed-size (target 25), %s ns run-time sizes (target 100)" % (
            fmt_ns(med.ns("nabla", "fixed")), fmt_ns(med.ns("nabla", "dynamic"))))
    if acc is not None and plain_acc is not None and acc >= 0:
        diff = 100 * abs(acc - plain_acc)
        checks.append("W1 accuracy nabla %.2f%% vs plain step %.2f%%: %.2f points apart "
                      "(allowed 0.5): %s" % (100 * acc, 100 * plain_acc, diff,
                                            "ok" if diff <= 0.5 else "NOT OK"))
    acc_2 = med.get("nabla", "W1", 2, "nabla", "accuracy")
    frac_2 = med.get("nabla", "W1", 2, "nabla", "epoch_fraction")
    if acc is not None and acc_2 is not None and acc_2 >= 0 and frac_2 and frac_2 >= 0.999:
        diff = 100 * abs(acc_2 - acc)
        checks.append("W1 accuracy nabla 2 threads %.2f%% vs 1 thread %.2f%%: %.2f points "
                      "apart (allowed 0.5): %s" % (100 * acc_2, 100 * acc, diff,
                                                 "ok" if diff <= 0.5 else "NOT OK"))
    lines.append("Targets (issues 4 and 14):")
    lines.append("")
    lines.extend("- " + c for c in checks)
    lines.append("")

    lines.append("Peak resident memory (MiB, 1 thread; W3 nabla: run-time sizes):")
    lines.append("")
    lines.append("| system | W1 | W2 | W3 |")
    lines.append("|---|---|---|---|")
    for s in systems:
        cells = []
        for workload in ("W1", "W2", "W3"):
            variants = variants_of(s, workload)
            if s in ("nabla", "plain") and workload == "W3":
                variants = variants[::-1]  # run-time sizes first
            rss = next((r for r in (med.get(s, workload, 1, v, "peak_rss_mib")
                                    for v in variants) if r is not None), None)
            cells.append("—" if rss is None else "{:,.0f}".format(rss))
        lines.append("| %s | %s |" % (system_name(s),
                                     " | ".join(cells)))
    lines.append("")
    data = {r["data"] for r in results if r["workload"] == "W1"}
    lines.append("Notes:")
    lines.append("")
    lines.append("- W1 data: %s. Each number is the median of %d run%s, one process each, "
                 "systems alternating within every round." % (
                     ", ".join(sorted(data)) or "—", args.rounds,
                     "" if args.rounds == 1 else "s"))
    if torch_note:
        lines.append("- PyTorch: %s; OMP_NUM_THREADS and torch.set_num_threads set to the "
                     "thread count; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset; \"tuned\": "
                     "GLIBC_TUNABLES=%s." % (torch_note, MALLOC_TUNING))
    lines.append("- FANN has no threads, ReLU nor softmax (hidden FANN_LINEAR_PIECE, squared "
                 "error): its accuracy comes from another loss.")
    lines.append("- Machine: %d CPUs (%s), load average before the run %s." % (
        os.cpu_count() or 0, cpu_model(), args.load_before))
    for s in skipped:
        lines.append("- Skipped: %s." % s)
    for f in failures:
        lines.append("- FAILED: %s." % f)
    lines.append("- Whole run: %.0f s." % elapsed)
    return "\n".join(lines)


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown CPU"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bin", required=True, help="the build directory of the runners")
    parser.add_argument("--rounds", type=int, default=None, help="rounds (default 3, quick 1)")
    parser.add_argument("--quick", action="store_true", help="a smoke run for CI")
    parser.add_argument("--systems", default="", help="only these, e.g. nabla,plain,pytorch")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--json", default="", help="also write every raw result here")
    parser.add_argument("--gemm", default="eigen",
                        help="the GEMM back end compare_nabla was built with (run.sh says)")
    args = parser.parse_args()
    if args.rounds is None:
        args.rounds = 1 if args.quick else 3
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    args.load_before = "%.2f" % os.getloadavg()[0]

    def log(text):
        print(text, file=sys.stderr, flush=True)

    measurements, skipped = plan(args)
    for s in skipped:
        log("skipping %s" % s)
    start = time.monotonic()
    results, failures = [], []
    for r in range(args.rounds):
        # Rotate the order each round, so that no system always runs first.
        shift = r % max(1, len(measurements))
        order = measurements[shift:] + measurements[:shift]
        order.sort(key=lambda m: ("W1", "W2", "W3").index(m.workload))
        for i, m in enumerate(order):
            log("round %d/%d [%d/%d] %s %s %dt %s" % (r + 1, args.rounds, i + 1, len(order),
                                                   m.system, m.workload, m.threads, m.variant))
            result = run_one(m, log)
            if result is None:
                failures.append("%s %s %d thread(s) %s" % (m.system, m.workload, m.threads,
                                                             m.variant))
            else:
                results.append(result)
    elapsed = time.monotonic() - start
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    print(report(results, args, skipped, elapsed, failures))
    return 1 if failures or not results else 0


if __name__ == "__main__":
    sys.exit(main())
