"""Throughput of the SL pipeline: sampler positions/s vs training samples/s; prints one JSON line.

    python benchmarks/sl_train.py --games 300 --batch 256 --seconds 10 --nets 13x192 3x32

The sampler figure is the background ``BatchSampler`` alone (random events, random symmetries,
``encode_games`` + targets); the training figures are forward + backward + SGD step of each network
on a fixed batch, so together they say whether the sampler keeps the network fed.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
import torch.nn.functional as F

from agents.alphago import data as sl_data
from agents.alphago.nets import PolicyCNN


def sampler_rate(stream: sl_data.GameStream, batch: int, seconds: float, encoder: str) -> float:
    sampler = sl_data.BatchSampler(stream, batch_size=batch, encoder=encoder, seed=0, prefetch=2)
    try:
        next(sampler)  # compile / warm up
        t0, n = time.perf_counter(), 0
        while time.perf_counter() - t0 < seconds:
            next(sampler)
            n += batch
        return n / (time.perf_counter() - t0)
    finally:
        sampler.close()


def train_rate(stream: sl_data.GameStream, batch: int, seconds: float, encoder: str, layers: int, filters: int,
               device: torch.device) -> float:
    events, games = sl_data.sample_events(stream)
    planes, targets = sl_data.encode_samples(stream, events[:batch], games[:batch], np.zeros(batch, np.int64), encoder)
    x, y = torch.from_numpy(planes).to(device), torch.from_numpy(targets).to(device)
    net = PolicyCNN(planes.shape[1], stream.size, filters=filters, layers=layers).to(device)
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)

    def step():
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = F.cross_entropy(net(x).float(), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    t0, k = time.perf_counter(), 0
    while time.perf_counter() - t0 < seconds or k < 2:
        step()
        k += 1
    if device.type == "cuda":
        torch.cuda.synchronize()
    return k * batch / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, help="SGF file, directory or archive (default: "
                   "$RLENGINE_DATA/go/tom-9d-19x19.tar.gz)")
    p.add_argument("--size", type=int, default=19)
    p.add_argument("--games", type=int, default=300)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--encoder", default="alphago48")
    p.add_argument("--nets", nargs="*", default=["13x192", "3x32"], help="LAYERSxFILTERS")
    p.add_argument("--device", default="cpu")
    args = p.parse_args(argv)
    device = torch.device(args.device)
    from _data import data_path  # benchmarks/_data.py (the script's folder is on sys.path)

    stream = sl_data.convert(data_path(args.data, "go/tom-9d-19x19.tar.gz"), args.size, max_games=args.games)
    out = {"device": str(device), "torch_threads": torch.get_num_threads(), "batch": args.batch,
           "games": stream.num_games,
           "sampler_positions_per_s": round(sampler_rate(stream, args.batch, args.seconds, args.encoder))}
    for spec in args.nets:
        layers, filters = (int(v) for v in spec.split("x"))
        rate = train_rate(stream, args.batch, args.seconds, args.encoder, layers, filters, device)
        out[f"train_samples_per_s_{spec}"] = round(rate, 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
