"""DQN training speed on Pong at steady state: our training loop against a straightforward CleanRL-style loop.

Both loops are timed after learning starts with ε already at its final value (0.01), so both call the
network on almost every step (timing just after ``learning_starts`` at ε near 1 flatters a loop that
skips the network for random actions).  Two comparisons:

- ``same_algorithm``: both run plain DQN: a plain (not dueling) Nature CNN Q-network, 1-step targets
  from the target network's max, MSE loss, no gradient clipping in effect, uniform replay of 50,000
  transitions, Adam lr 1e-4, one update of batch 32 per 4 env steps, target copy every 8,000 steps.
  What differs is only the implementation: ours is the real ``agents.dqn.train`` loop (8 vector envs
  in C++ threads, frames stored once, fused Adam); the baseline is one gymnasium env with
  AtariPreprocessing + frame stacking (needs OpenCV: ``pip install -e ".[bench]"``), stacked
  observations stored twice, one forward per env step.
- ``default_config``: our ``configs/dqn_pong.toml`` as it trains (Double DQN, dueling, Huber, gradient
  clipping, 3-step returns, prioritized replay) with the buffer cut to 200,000, against the same
  baseline.

bf16 is off in both (``dqn.amp = false``).  Figures are env steps/s (agent steps, 4 frames each) over
``--seconds`` of learning; ``speedup`` divides ours by the baseline's.  One JSON line per loop, then a
summary line.

    python benchmarks/dqn_sps.py --seconds 60 [--device cpu|cuda] [--num-envs 8]
"""

from __future__ import annotations

import argparse
import copy
import json
import tempfile
import time

import gymnasium as gym
import numpy as np
import torch
import torch.nn.functional as F

from agents.dqn import DQNRunConfig, QNetwork, train
from rlengine.config import load_config

LEARNING_STARTS = 2_000


FINAL_EPSILON = 0.01
# plain DQN, as the baseline runs it (grad_clip: a norm no gradient reaches)
SAME_ALGORITHM = ["network.dueling=false", "dqn.double=false", "dqn.huber=false", "dqn.grad_clip=1e9",
                  "dqn.n_step=1", "dqn.prioritized=false", "dqn.buffer_size=50000", "dqn.adam_eps=1.5e-4"]
DEFAULT_CONFIG = ["dqn.buffer_size=200000"]


def ours(seconds: float, device: str, num_envs: int, *, overrides: list[str], row: str) -> dict:
    cfg = load_config(DQNRunConfig, "configs/dqn_pong.toml", overrides=[
        f"env.num_envs={num_envs}", f"run.device={device}", f"dqn.learning_starts={LEARNING_STARTS}",
        f"dqn.eps_start={FINAL_EPSILON}", f"dqn.eps_end={FINAL_EPSILON}", "dqn.amp=false",
        "eval.every_steps=100000000", "checkpoint.every_steps=100000000", "dqn.total_steps=100000000", *overrides])
    with tempfile.TemporaryDirectory() as run_dir:
        # fill the replay first (no updates), then time the learning phase; the stop writes a checkpoint,
        # after the timed phase
        result = train(cfg, run_dir, progress=False, time_limit=seconds + 30)
    return {"loop": "rlengine", "row": row, "num_envs": num_envs, "epsilon": FINAL_EPSILON,
            "env_steps_per_s": round(result["learning_steps_per_s"], 1), "updates": result["updates"],
            "device": result["device"]}


def cleanrl_style(seconds: float, device: str) -> dict:
    """One env, one forward per step, stacked observations stored twice (obs and next_obs).

    The env is what CleanRL's dqn_atari.py builds, in gymnasium 1.x terms: ALE Pong with
    frameskip 1, gymnasium's AtariPreprocessing (30 no-ops, skip 4 with max-pool, life loss,
    84x84 grey through OpenCV), rewards clipped to their sign, FrameStackObservation(4).
    """
    import ale_py
    from gymnasium.wrappers import AtariPreprocessing, FrameStackObservation

    gym.register_envs(ale_py)
    env = gym.make("ALE/Pong-v5", frameskip=1, repeat_action_probability=0.0)
    env = AtariPreprocessing(env, noop_max=30, frame_skip=4, screen_size=84, terminal_on_life_loss=True)
    env = FrameStackObservation(env, 4)
    num_actions = int(env.action_space.n)
    dev = torch.device(device)
    cfg = load_config(DQNRunConfig, "configs/dqn_pong.toml", overrides=["network.dueling=false"])
    net = QNetwork(cfg, (4, 84, 84), num_actions).to(dev)  # the plain Nature DQN network
    target = copy.deepcopy(net)
    opt = torch.optim.Adam(net.parameters(), lr=1e-4, eps=1.5e-4)
    cap = 50_000
    obs_buf = np.zeros((cap, 4, 84, 84), np.uint8)
    next_buf = np.zeros((cap, 4, 84, 84), np.uint8)
    act_buf = np.zeros(cap, np.int64)
    rew_buf = np.zeros(cap, np.float32)
    done_buf = np.zeros(cap, np.float32)
    rng = np.random.default_rng(0)
    obs, _ = env.reset(seed=0)
    step, t_learn, step_learn = 0, None, 0
    while True:
        eps = FINAL_EPSILON  # steady state, as in ours
        if rng.random() < eps:
            action = int(rng.integers(num_actions))
        else:
            with torch.no_grad():
                action = int(net(torch.as_tensor(np.asarray(obs)[None], device=dev)).argmax(1))
        next_obs, reward, term, trunc, _ = env.step(action)
        i = step % cap
        obs_buf[i], next_buf[i], act_buf[i], rew_buf[i], done_buf[i] = obs, next_obs, action, np.sign(reward), term
        obs = next_obs if not (term or trunc) else env.reset()[0]
        step += 1
        if step > LEARNING_STARTS:
            if t_learn is None:
                t_learn, step_learn = time.perf_counter(), step
            if step % 4 == 0:
                idx = rng.integers(min(step, cap), size=32)
                o = torch.as_tensor(obs_buf[idx], device=dev)
                n = torch.as_tensor(next_buf[idx], device=dev)
                with torch.no_grad():
                    y = torch.as_tensor(rew_buf[idx], device=dev) + 0.99 * target(n).max(1).values * (
                        1 - torch.as_tensor(done_buf[idx], device=dev))
                q = net(o).gather(1, torch.as_tensor(act_buf[idx], device=dev)[:, None]).squeeze(1)
                loss = F.mse_loss(q, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
            if step % 8000 == 0:
                target.load_state_dict(net.state_dict())
            if time.perf_counter() - t_learn >= seconds:
                break
    env.close()
    return {"loop": "cleanrl_style", "num_envs": 1, "epsilon": FINAL_EPSILON,
            "env_steps_per_s": round((step - step_learn) / (time.perf_counter() - t_learn), 1), "device": str(dev)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per loop after learning starts")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--num-envs", type=int, default=8)
    args = parser.parse_args()
    base = cleanrl_style(args.seconds, args.device)
    print(json.dumps(base), flush=True)
    rows = {}
    for row, overrides in (("same_algorithm", SAME_ALGORITHM), ("default_config", DEFAULT_CONFIG)):
        r = ours(args.seconds, args.device, args.num_envs, overrides=overrides, row=row)
        r["speedup_vs_cleanrl_style"] = round(r["env_steps_per_s"] / base["env_steps_per_s"], 2)
        print(json.dumps(r), flush=True)
        rows[row] = r
    print(json.dumps({"cleanrl_style_env_steps_per_s": base["env_steps_per_s"],
                      **{f"{k}_env_steps_per_s": v["env_steps_per_s"] for k, v in rows.items()},
                      **{f"{k}_speedup": v["speedup_vs_cleanrl_style"] for k, v in rows.items()},
                      "epsilon": FINAL_EPSILON, "device": args.device, "torch_threads": torch.get_num_threads()}),
          flush=True)


if __name__ == "__main__":
    main()
