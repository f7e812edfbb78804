"""PyTorch's runner for the side-by-side comparison (README.md).

Trains one workload of benchmarks/workloads.hpp with torch on the CPU the way a PyTorch user
writes it (nn.Sequential, a built-in loss, torch.optim.SGD) and prints one RESULT line, with
the same flags and fields as the C++ runners:

    /usr/bin/python3 compare_torch.py --workload W1|W2|W3 [--threads N] [--seconds S]
                                      [--max-steps N] [--data DIR] [--variant LABEL]
                                      [--double]

--variant only labels the result (compare.py passes "default", "malloc-tuned" or
"double-malloc-tuned" and sets GLIBC_TUNABLES itself). --double trains in torch.float64. The
BLAS that torch loaded is read from /proc/self/maps and reported.
"""

import argparse
import gzip
import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

W1_SIZES = (784, 256, 128, 10)
W1_BATCH = 64
W1_RATE = 0.05
W2_SIZES = (1024, 1024, 1024, 1024)
W2_BATCH = 256
W2_RATE = 1e-4
W3_RATE = 0.5


def read_idx(path):
    """The array in an IDX file (gzipped or not): uint8 images or labels."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def find_idx(directory, name):
    """The path of `name` or `name`.gz in directory (the plain file first), or None."""
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    return None


def load_w1(directory):
    """(train_x, train_labels, test_x, test_labels, source): samples in rows, pixels in [0, 1]."""
    names = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
    paths = [find_idx(directory, n) for n in names]
    if all(paths):
        arrays = [read_idx(p) for p in paths]
        dtype = np.float64 if torch.get_default_dtype() == torch.float64 else np.float32
        train_x = torch.from_numpy(arrays[0].reshape(-1, 784).astype(dtype) / 255.0)
        test_x = torch.from_numpy(arrays[2].reshape(-1, 784).astype(dtype) / 255.0)
        return (train_x, torch.from_numpy(arrays[1].astype(np.int64)), test_x,
                torch.from_numpy(arrays[3].astype(np.int64)), "fashion-mnist")
    g = torch.Generator().manual_seed(11)
    return (torch.rand(60000, 784, generator=g), torch.randint(0, 10, (60000,), generator=g),
            torch.rand(10000, 784, generator=g), torch.randint(0, 10, (10000,), generator=g),
            "random")


def mlp(sizes, hidden, output):
    """Dense layers with `hidden` between them and `output` after the last; He uniform for the
    ReLU layers and Glorot uniform for the rest, biases 0, as nabla initialises."""
    layers = []
    for i in range(len(sizes) - 1):
        linear = nn.Linear(sizes[i], sizes[i + 1])
        last = i == len(sizes) - 2
        act = output if last else hidden
        if isinstance(act, nn.ReLU):
            nn.init.kaiming_uniform_(linear.weight, nonlinearity="relu")
        else:
            nn.init.xavier_uniform_(linear.weight)
        nn.init.zeros_(linear.bias)
        layers.append(linear)
        if act is not None:
            layers.append(act)
    return nn.Sequential(*layers)


def time_steps(args, warmup, chunk, batch, step):
    """Runs step(k) `warmup` times untimed, then until the budget or the step limit."""
    for k in range(warmup):
        step(k)
    limit = args.max_steps if args.max_steps else -1
    done = 0
    start = time.perf_counter()
    while True:
        for _ in range(chunk):
            if done == limit:
                break
            step(done)
            done += 1
        elapsed = time.perf_counter() - start
        if done == limit or elapsed > args.seconds:
            return {"steps": done, "samples": done * batch, "seconds": elapsed}


def run_w1(args):
    train_x, train_y, test_x, test_y, source = load_w1(args.data)
    torch.manual_seed(1)
    model = mlp(W1_SIZES, nn.ReLU(), None)  # the softmax lives in cross_entropy
    opt = torch.optim.SGD(model.parameters(), lr=W1_RATE)
    batches = train_x.shape[0] // W1_BATCH
    steps = min(batches, args.max_steps) if args.max_steps else batches
    done = 0
    start = time.perf_counter()
    while done < steps:
        x = train_x[done * W1_BATCH:(done + 1) * W1_BATCH]
        y = train_y[done * W1_BATCH:(done + 1) * W1_BATCH]
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        done += 1
        if time.perf_counter() - start > args.seconds:
            break
    elapsed = time.perf_counter() - start
    with torch.no_grad():
        hits = (model(test_x).argmax(dim=1) == test_y).sum().item()
    return {"steps": done, "samples": done * W1_BATCH, "seconds": elapsed,
            "epoch_fraction": done / batches, "accuracy": hits / test_x.shape[0],
            "data": source}


def run_w2(args):
    g = torch.Generator().manual_seed(2)
    x = torch.rand(4 * W2_BATCH, 1024, generator=g)
    y = torch.rand(4 * W2_BATCH, 1024, generator=g) * 2 - 1
    torch.manual_seed(2)
    model = mlp(W2_SIZES, nn.ReLU(), None)
    opt = torch.optim.SGD(model.parameters(), lr=W2_RATE)

    def step(k):
        i = (k % 4) * W2_BATCH
        opt.zero_grad()
        F.mse_loss(model(x[i:i + W2_BATCH]), y[i:i + W2_BATCH]).backward()
        opt.step()

    result = time_steps(args, 2, 1, W2_BATCH, step)
    result["data"] = "random"
    return result


def run_w3(args):
    g = torch.Generator().manual_seed(4)
    xs = [torch.rand(1, 2, generator=g) for _ in range(16)]
    ys = [torch.rand(1, 2, generator=g) for _ in range(16)]
    torch.manual_seed(3)
    model = mlp((2, 3, 2), nn.Sigmoid(), nn.Sigmoid())
    opt = torch.optim.SGD(model.parameters(), lr=W3_RATE)

    def step(k):
        opt.zero_grad()
        F.mse_loss(model(xs[k & 15]), ys[k & 15]).backward()
        opt.step()

    result = time_steps(args, 256, 256, 1, step)
    result["data"] = "random"
    return result


def loaded_blas():
    """The BLAS and OpenMP libraries mapped into this process, by file name."""
    names = set()
    with open("/proc/self/maps") as maps:
        for line in maps:
            path = line.split()[-1]
            if "blas" in path or "blis" in path or "mkl" in path:
                names.add(path)
    return sorted(names)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workload", choices=("W1", "W2", "W3"), default="W1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--max-steps", type=int, default=0)
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--variant", default="default")
    parser.add_argument("--double", action="store_true",
                        help="W1, W2 in double precision (torch.float64)")
    args = parser.parse_args()
    if args.threads < 1 or args.seconds <= 0 or args.max_steps < 0:
        parser.error("--threads and --seconds must be positive, --max-steps at least 0")

    torch.set_num_threads(args.threads)
    if args.double:
        torch.set_default_dtype(torch.float64)  # the layers, the data and the random draws
    run = {"W1": run_w1, "W2": run_w2, "W3": run_w3}[args.workload]
    result = {"system": "pytorch", "variant": args.variant, "workload": args.workload,
              "threads": args.threads, "threads_used": torch.get_num_threads(),
              "epoch_fraction": -1.0, "accuracy": -1.0}
    result.update(run(args))
    if result["steps"] == 0:
        sys.exit("compare_torch.py: no step ran")
    result["samples_per_s"] = result["samples"] / result["seconds"]
    result["ns_per_step"] = result["seconds"] * 1e9 / result["steps"]
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    blas = [os.path.basename(p) for p in loaded_blas()]
    dirs = sorted({os.path.basename(os.path.dirname(p)) for p in loaded_blas()})
    result["note"] = "torch %s, BLAS %s in %s" % (torch.__version__, "+".join(blas) or "none",
                                                  "+".join(dirs) or "-")
    print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
