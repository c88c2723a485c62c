"""A short stable-baselines3 PPO run on motornet_rs/RandomReach-v0 (point mass), with the environments
batched in Rust behind a gymnasium VectorEnv wrapped for stable-baselines3.

    pip install stable-baselines3
    python python/examples/ppo.py [--timesteps 20000] [--num-envs 16]
"""

import argparse

import numpy as np

import motornet_rs  # noqa: F401  (registers the gymnasium ids)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--timesteps", type=int, default=20000)
    ap.add_argument("--num-envs", type=int, default=16)
    ap.add_argument("--model", default="pointmass24_relu")
    args = ap.parse_args(argv)
    import gymnasium
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    env = make_vec_env(
        lambda: gymnasium.make("motornet_rs/RandomReach-v0", model=args.model, max_ep_duration=0.5),
        n_envs=args.num_envs,
    )
    model = PPO("MlpPolicy", env, n_steps=64, batch_size=256, seed=0, verbose=0)
    model.learn(total_timesteps=args.timesteps)
    # Mean reward of the trained policy over one batch of episodes.
    obs = env.reset()
    total = np.zeros(args.num_envs)
    for _ in range(50):
        action, _ = model.predict(obs, deterministic=True)
        obs, reward, done, _ = env.step(action)
        total += reward
    print(f"mean episode reward after {args.timesteps} steps: {total.mean():.3f}")
    return float(total.mean())


if __name__ == "__main__":
    main()
