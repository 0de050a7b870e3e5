"""DQN training speed on Pong: our full training loop against a straightforward CleanRL-style loop.

Both use the same network (Nature CNN torso, dueling Q head) and the same
update ratio (one update of batch 32 per 4 env steps).  Ours runs the real
``agents.dqn.train`` loop (vector env, frame-once replay, checkpoints off);
the baseline is one gymnasium env with AtariPreprocessing + frame stacking
(needs OpenCV: pip install -e ".[bench]"), a replay of stacked uint8
observations, one forward per env step.  Figures
are env steps/s measured after learning starts.  Prints one JSON line per
measurement and a final summary line.

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


def ours(seconds: float, device: str, num_envs: int, *, prioritized: bool) -> dict:
    cfg = load_config(DQNRunConfig, "configs/dqn_pong.toml", overrides=[
        f"env.num_envs={num_envs}", f"run.device={device}", f"dqn.learning_starts={LEARNING_STARTS}",
        "dqn.buffer_size=200000", f"dqn.prioritized={str(prioritized).lower()}", "eval.every_steps=100000000",
        "checkpoint.every_steps=100000000", "dqn.total_steps=100000000"])
    with tempfile.TemporaryDirectory() as run_dir:
        # fill the replay first (no updates), then time the learning phase
        result = train(cfg, run_dir, progress=False, time_limit=seconds + 30)
    return {"loop": "rlengine", "prioritized": prioritized, "num_envs": num_envs,
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
    cfg = load_config(DQNRunConfig, "configs/dqn_pong.toml")
    net = QNetwork(cfg, (4, 84, 84), num_actions).to(dev)
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
        eps = max(0.01, 1 - step / 250_000)
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
    return {"loop": "cleanrl_style", "num_envs": 1,
            "env_steps_per_s": round((step - step_learn) / (time.perf_counter() - t_learn), 1), "device": str(dev)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0, help="timed seconds per loop after learning starts")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--num-envs", type=int, default=8)
    args = parser.parse_args()
    base = cleanrl_style(args.seconds, args.device)
    print(json.dumps(base), flush=True)
    results = []
    for prioritized in (False, True):
        r = ours(args.seconds, args.device, args.num_envs, prioritized=prioritized)
        r["speedup_vs_cleanrl_style"] = round(r["env_steps_per_s"] / base["env_steps_per_s"], 2)
        print(json.dumps(r), flush=True)
        results.append(r)
    print(json.dumps({"env_steps_per_s": results[0]["env_steps_per_s"], "env_steps_per_s_per": results[1][
        "env_steps_per_s"], "cleanrl_style_env_steps_per_s": base["env_steps_per_s"],
        "speedup": results[0]["speedup_vs_cleanrl_style"], "device": args.device,
        "torch_threads": torch.get_num_threads()}), flush=True)


if __name__ == "__main__":
    main()
