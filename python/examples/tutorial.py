"""MotorNet's tutorial, on motornet_rs: a GRU policy learns to reach with the arm26 model by
backpropagation through time through the differentiable torch environment (torch autograd for the
network, the plant's generated adjoints for the arm). Only the environment's construction differs from
MotorNet's tutorial.

    python python/examples/tutorial.py [--batches 200] [--batch-size 32] [--hidden 32]
"""

import argparse

import torch

import motornet_rs.torch as mt


class Policy(torch.nn.Module):
    def __init__(self, input_dim, hidden_dim, output_dim):
        super().__init__()
        self.hidden_dim = hidden_dim
        self.gru = torch.nn.GRU(input_dim, hidden_dim, 1, batch_first=True)
        self.fc = torch.nn.Linear(hidden_dim, output_dim)
        torch.nn.init.constant_(self.fc.bias, -5.0)

    def forward(self, x, h0):
        y, h = self.gru(x[:, None, :], h0)
        return torch.sigmoid(self.fc(y[:, 0])), h

    def init_hidden(self, batch_size):
        return torch.zeros(1, batch_size, self.hidden_dim, dtype=torch.float64)


def l1(x, y):
    return torch.mean(torch.sum(torch.abs(x - y), dim=-1))


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=200)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--duration", type=float, default=1.0)
    args = ap.parse_args(argv)
    torch.manual_seed(0)
    env = mt.Environment("arm26", max_ep_duration=args.duration)  # MotorNet: mn.environment.RandomTargetReach(effector=…)
    policy = Policy(env.observation_space.shape[0], args.hidden, env.n_muscles).double()
    optimizer = torch.optim.Adam(policy.parameters(), lr=10**-3)
    losses = []
    for batch in range(args.batches):
        h = policy.init_hidden(args.batch_size)
        obs, info = env.reset(options={"batch_size": args.batch_size})
        terminated = False
        xy = [info["states"]["fingertip"][:, None, :]]
        tg = [info["goal"][:, None, :]]
        while not terminated:
            action, h = policy(obs, h)
            obs, reward, terminated, truncated, info = env.step(action=action)
            xy.append(info["states"]["fingertip"][:, None, :])
            tg.append(info["goal"][:, None, :])
        loss = l1(torch.cat(xy, dim=1), torch.cat(tg, dim=1))
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), max_norm=1.0)
        optimizer.step()
        losses.append(loss.item())
        if (batch + 1) % 50 == 0 or batch + 1 == args.batches:
            print(f"batch {batch + 1}: loss {loss.item():.4f}")
    return losses


if __name__ == "__main__":
    main()
