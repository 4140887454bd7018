"""A small execution episode for the agents' tests: 1,000 shares in 3 steps of 10 s, reset ``start`` s into ``day``."""

from workbench.execution.env import ExecutionEnv


def make_env(day, side=-1, start=5.0, reward="arrival"):
    env = ExecutionEnv(day, side=side, volume=1000, steps=3, step_seconds=10.0, reward=reward)
    env.reset(options={"day": 0, "start": day.session_start + start})
    return env


def train_window_head(policy, params, obs, raw, j: int, steps: int = 200, lr: float = 1e-2):
    """Adam ``steps`` on ``policy.auxiliary_loss(obs, raw, None)`` alone over ``params``; returns the mean probability
    of window position ``j`` under the fine-grained head before and after."""
    import torch

    start = policy.window_distribution(obs, raw).probs[:, j].mean().item()
    opt = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        opt.zero_grad()
        policy.auxiliary_loss(obs, raw, None).backward()
        opt.step()
    return start, policy.window_distribution(obs, raw).probs[:, j].mean().item()
