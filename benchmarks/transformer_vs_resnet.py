"""The Go policy network's Transformer torso against its ResNet torso, at equal training compute.

Both networks train through ``rlengine train`` (``agents.alphago.sl``) on the same shards, with the same
optimiser, schedule, batch size, number of training positions and seed, and the same policy head; only the
tower differs. The Transformer's depth is chosen so that its forward FLOPs per position (counted by
``torch.utils.flop_counter`` with attention decomposed into matmuls) are closest to the ResNet's.

    # one run per kind (two processes can share a 2-core machine, one thread each)
    python benchmarks/transformer_vs_resnet.py train --size 9 --data PATH --kind resnet --positions 128000
    python benchmarks/transformer_vs_resnet.py train --size 9 --data PATH --kind transformer-relative ...
    python benchmarks/transformer_vs_resnet.py train --size 9 --data PATH --kind transformer-rowcol ...
    # held-out test accuracy of both, a JSON line per kind, and the plot
    python benchmarks/transformer_vs_resnet.py report --size 9 --plot benchmarks/results/tvr_go9.png
    # speed: training samples/s and inference positions/s of each network (``--device cuda`` on a GPU)
    python benchmarks/transformer_vs_resnet.py speed --size 19 --batch 256

``PATH`` is any SGF directory or archive (for example the shared ``gnugo-9x9-l10.tar.gz`` or
``tom-9d-19x19.tar.gz``), or the environment variable ``RLENGINE_GO{9,19}_SGF``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
WIDTH, RESNET_BLOCKS = 64, 6  # the ResNet both sizes compare against: 64 filters x 6 residual blocks
KINDS = ("resnet", "transformer-relative", "transformer-rowcol")  # the Transformer's two kinds of 2-D positions


def forward_flops(net: torch.nn.Module, in_planes: int, size: int) -> int:
    """FLOPs of one position's forward pass (multiply-add = 2), attention included."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    x = torch.zeros(1, in_planes, size, size)
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter, torch.no_grad():
        net.eval()(x)  # the math backend runs attention as matmuls, which the counter sees
    return int(counter.get_total_flops())


def networks(size: int, max_layers: int = 16) -> dict[str, dict]:
    """The two ``[network]`` sections: ResNet 64x6, and the width-64 Transformer whose FLOPs are closest."""
    from agents.alphago.config import NetworkSection
    from agents.alphago.nets import build_policy_net
    from games.go.features import num_planes
    from rlengine.nn import num_parameters

    planes = num_planes("alphago48")
    resnet = NetworkSection(kind="resnet", encoder="alphago48", filters=WIDTH, blocks=RESNET_BLOCKS)
    target = forward_flops(build_policy_net(resnet, size), planes, size)
    nets = {"resnet": (resnet, target)}
    for positions in ("relative", "rowcol"):
        best = None
        for layers in range(1, max_layers + 1):
            tf = NetworkSection(kind="transformer", encoder="alphago48", filters=WIDTH, blocks=layers, heads=4,
                                positions=positions)
            flops = forward_flops(build_policy_net(tf, size), planes, size)
            if best is None or abs(flops - target) < abs(best[1] - target):
                best = (tf, flops)
        nets[f"transformer-{positions}"] = best
    out = {}
    for kind, (net, flops) in nets.items():
        out[kind] = {"network": {"kind": net.kind, "encoder": net.encoder, "filters": net.filters,
                                 "blocks": net.blocks, "heads": net.heads, "positions": net.positions},
                     "forward_flops_per_position": flops,
                     "parameters": num_parameters(build_policy_net(net, size))}
    return out


def speed(size: int, device: str, batch: int, seconds: float) -> dict[str, dict]:
    """Training samples/s (forward, backward, Adam step) and inference positions/s (no_grad forward) of each
    network on one fixed batch of random planes; bf16 autocast on CUDA. Positions / wall seconds."""
    import time

    import torch.nn.functional as F

    from agents.alphago.config import NetworkSection
    from agents.alphago.nets import build_policy_net

    dev = torch.device(device)
    out = {}
    for kind, info in networks(size).items():
        net = build_policy_net(NetworkSection(**info["network"]), size).to(dev)
        x = (torch.rand(batch, 48, size, size, device=dev) < 0.2).float()
        y = torch.randint(0, size * size, (batch,), device=dev)
        opt = torch.optim.Adam(net.parameters(), lr=1e-4)
        amp = torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda")

        def train_step():
            with amp:
                loss = F.cross_entropy(net(x).float(), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

        @torch.no_grad()
        def infer():
            with amp:
                net(x)

        rates = {}
        for name, fn, mode in (("train_samples_per_s", train_step, True), ("infer_positions_per_s", infer, False)):
            net.train(mode)
            fn()  # warm-up
            if dev.type == "cuda":
                torch.cuda.synchronize()
            t0, k = time.perf_counter(), 0
            while time.perf_counter() - t0 < seconds or k < 3:
                fn()
                k += 1
            if dev.type == "cuda":
                torch.cuda.synchronize()
            rates[name] = round(k * batch / (time.perf_counter() - t0), 1)
        out[kind] = rates
    return out


def config_for(args, kind: str):
    from agents.alphago.config import SLRunConfig
    from rlengine.config import load_config

    net = networks(args.size)[kind]["network"]
    steps = args.positions // args.batch
    overrides = {
        "run": {"name": f"tvr{args.size}_{kind}", "seed": args.seed, "device": args.device},
        "data": {"path": args.data, "board_size": args.size, "max_games": args.max_games},
        "network": net,
        "train": {"total_steps": steps, "batch_size": args.batch, "optimizer": "adam", "lr": args.lr,
                  "weight_decay": 0.0, "schedule": "cosine", "warmup_steps": min(500, steps // 10),
                  "min_lr_fraction": 0.01, "log_every": 100},
        "eval": {"every_steps": max(1, steps // args.evals), "positions": 4096, "batch_size": 256},
        "checkpoint": {"every_steps": max(1, steps // args.evals), "keep": 2},
    }
    base = REPO / "configs" / ("go9_sl.toml" if args.size == 9 else "go19_sl.toml")
    return load_config(SLRunConfig, base, overrides=overrides)


def run_dir(args, kind: str) -> Path:
    return Path(args.out) / f"go{args.size}_{kind}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["flops", "speed", "train", "report"])
    parser.add_argument("--size", type=int, choices=[9, 19], required=True)
    parser.add_argument("--kind", choices=KINDS, help="train: which network")
    parser.add_argument("--data", help="SGF directory or archive (default: $RLENGINE_GO<size>_SGF)")
    parser.add_argument("--max-games", type=int, default=0, help="0 = every game of the source")
    parser.add_argument("--positions", type=int, default=128_000, help="training positions (steps x batch)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam, cosine schedule after warmup")
    parser.add_argument("--evals", type=int, default=8, help="validation points along the run")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/tvr", help="parent of the two run directories")
    parser.add_argument("--test-positions", type=int, default=8192)
    parser.add_argument("--plot", help="report: PNG of validation accuracy against training positions")
    parser.add_argument("--seconds", type=float, default=10.0, help="speed: seconds per measurement")
    args = parser.parse_args(argv)

    if args.command == "flops":
        print(json.dumps({"size": args.size, **networks(args.size)}))
        return 0
    if args.command == "speed":
        rates = speed(args.size, args.device, args.batch, args.seconds)
        print(json.dumps({"size": args.size, "device": args.device, "batch": args.batch,
                          "threads": torch.get_num_threads(), **rates}))
        return 0
    if args.command == "train":
        args.data = args.data or os.environ.get(f"RLENGINE_GO{args.size}_SGF")
        if not args.data or not args.kind:
            parser.error(f"train needs --kind and --data (or $RLENGINE_GO{args.size}_SGF)")
        from agents.alphago import sl

        result = sl.train(config_for(args, args.kind), run_dir(args, args.kind))
        print(json.dumps({"kind": args.kind, **result}))
        return 0

    from agents.alphago import sl
    from rlengine.plots import plot_runs, read_metrics

    dirs = []
    infos = networks(args.size)  # the FLOP-matching search, once for all kinds
    for kind in KINDS:
        d = run_dir(args, kind)
        if not (d / "checkpoints").exists():
            print(f"{d}: no run yet (run `train --kind {kind}` first)", file=sys.stderr)
            continue
        rows = [r for r in read_metrics(d) if "samples_per_s" in r]
        test = sl.evaluate(d, episodes=args.test_positions)
        info = infos[kind]
        print(json.dumps({"size": args.size, "kind": kind, "test_top1": round(test["top1"], 4),
                          "test_top5": round(test["top5"], 4), "test_positions": test["positions"],
                          "test_games": test["games"], "train_positions": rows[-1]["positions"] if rows else None,
                          **info}))
        dirs.append(d)
    if args.plot and dirs:
        plot_runs(dirs, args.plot, title=f"{args.size}x{args.size} policy: ResNet vs Transformers, equal FLOPs")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(REPO))
    raise SystemExit(main())
