#!/usr/bin/python3
"""PyTorch training throughput (forward + backward, samples/s) of the models bench_throughput times.

usage: /usr/bin/python3 bench/torch_throughput.py [--out bench/results/torch_throughput.json]
       [--models mlp,cnn2,vgg11] [--batches 16,256,2048] [--seconds 3]

Each (model, batch) runs one untimed warm-up step, then steps until `seconds` have passed (at
least one, as bench_throughput does):
a step is forward, mean cross-entropy, backward (gradients only, no optimiser), with
torch.set_num_threads(1) and with all cores (os.cpu_count() threads). The models are FedGrid's
models/mlp.yaml, models/cnn2.yaml and models/vgg11.yaml (training mode: BatchNorm uses batch
statistics). Needs Debian's python3-torch (apt-get install -y python3-torch)."""
import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F


def mlp():
    return torch.nn.Sequential(torch.nn.Linear(784, 32), torch.nn.ReLU(), torch.nn.Linear(32, 16),
                               torch.nn.ReLU(), torch.nn.Linear(16, 10)), (784,)


def cnn2():
    return torch.nn.Sequential(torch.nn.Conv2d(1, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Conv2d(6, 6, 5), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                               torch.nn.Flatten(), torch.nn.Linear(96, 50), torch.nn.ReLU(),
                               torch.nn.Linear(50, 10)), (1, 28, 28)


def vgg11():
    layers, c = [], 3
    for v in [64, "M", 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M"]:
        if v == "M":
            layers.append(torch.nn.MaxPool2d(2, 2))
        else:
            layers += [torch.nn.Conv2d(c, v, 3, padding=1), torch.nn.BatchNorm2d(v),
                       torch.nn.ReLU(inplace=True)]
            c = v
    return torch.nn.Sequential(*layers, torch.nn.Flatten(), torch.nn.Linear(512, 10)), (3, 32, 32)


MODELS = {"mlp": mlp, "cnn2": cnn2, "vgg11": vgg11}


def measure(name, batch, seconds):
    torch.manual_seed(1)
    model, shape = MODELS[name]()
    model.train()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()

    step()  # warm-up (first-touch page faults, allocator, oneDNN primitive creation)
    n, t0 = 0, time.perf_counter()
    while True:
        step()
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= seconds:
            return n * batch / elapsed, n, elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                  "results", "torch_throughput.json"))
    ap.add_argument("--models", default="mlp,cnn2,vgg11")
    ap.add_argument("--batches", default="16,256,2048")
    ap.add_argument("--seconds", type=float, default=3.0)
    args = ap.parse_args()
    cores = os.cpu_count() or 1
    results = []
    for name in args.models.split(","):
        for batch in [int(b) for b in args.batches.split(",")]:
            row = {"model": name, "batch": batch}
            for label, threads in (("threads_1", 1), ("threads_all", cores)):
                torch.set_num_threads(threads)
                rate, n, secs = measure(name, batch, args.seconds)
                row[label] = {"threads": threads, "samples_per_s": rate, "iterations": n,
                              "seconds": secs}
            print("%-6s batch %5d: %10.1f samples/s (1 thread), %10.1f (%d threads)" %
                  (name, batch, row["threads_1"]["samples_per_s"],
                   row["threads_all"]["samples_per_s"], cores), flush=True)
            results.append(row)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                   "cores": cores, "seconds": args.seconds, "results": results}, f, indent=1)
    print("written", args.out)


if __name__ == "__main__":
    main()
