"""Times MuJoCo's step of the same 3D arm as models/arm4.mnet, for scale in BENCHMARKS.md.

The model: the arm4 skeleton (three-hinge shoulder, tilted elbow, the same masses, centres of mass and full
inertia tensors, gravity, joint damping), its ten muscle paths as spatial tendons (the five of the
mujoco3d/arm4_tendons reference, wrapping over the tilted cylinder and the sphere, and five with via
points only), each driven by a MuJoCo muscle actuator; Euler integration at dt 0.002 s as arm4.

    pip install mujoco==4.0.0 numpy
    python scripts/mujoco_arm4_step.py [--steps 20000]

Prints the mean wall time of one `mj_step` (one effector) over the given number of steps.
"""
import argparse
import time

import mujoco
import numpy as np

SITES_WORLD = {"w_bic": "0.025 0.005 0.02", "w_acrom": "0 0.04 0.03", "w_glen": "0.035 0.015 0.025",
               "w_pec": "0.10 -0.10 -0.05", "w_lat": "-0.08 -0.12 -0.20", "w_dpost": "-0.06 0.05 0.02",
               "w_sub": "-0.05 -0.06 -0.04"}
SITES_UPPER = {"u_bic1": "0.03 0.012 -0.1", "u_bic2": "0.035 -0.004 -0.24", "u_tri": "-0.025 0.003 -0.14",
               "u_brach": "0.02 0 -0.2", "u_delt": "0.006 0.012 -0.12", "u_long": "0.03 0.01 -0.12",
               "side_post": "-0.06 0 -0.3", "side_ant": "0.07 0 -0.3", "side_lat": "0 0.07 0",
               "side_front": "0.07 0.01 0", "u_pec": "0.02 -0.01 -0.08", "u_lat": "-0.015 -0.01 -0.07",
               "u_dpost": "-0.01 0.015 -0.11", "u_sub": "0.015 -0.02 -0.02", "u_anc": "-0.01 0.02 -0.28"}
SITES_FORE = {"f_bic": "0.025 0.004 -0.05", "f_tri": "-0.03 0.002 0.015", "f_brach": "0.016 0 -0.035",
              "f_long": "0.022 0 -0.045", "f_anc": "-0.02 0.015 -0.03"}
TENDONS = {
    "biceps_via": ["w_bic", "u_bic1", "u_bic2", "f_bic"],
    "triceps_cyl": ["u_tri", ("elbow_cyl", "side_post"), "f_tri"],
    "brach_cyl": ["u_brach", ("elbow_cyl", "side_ant"), "f_brach"],
    "deltoid_sph": ["w_acrom", ("humeral_head", "side_lat"), "u_delt"],
    "long_head": ["w_glen", ("humeral_head", "side_front"), "u_long", "f_long"],
    "pectoralis": ["w_pec", "u_pec"],
    "latissimus": ["w_lat", "u_lat"],
    "deltoid_post": ["w_dpost", "u_dpost"],
    "subscapularis": ["w_sub", "u_sub"],
    "anconeus": ["u_anc", "f_anc"],
}


def sites(d):
    return "\n".join(f'<site name="{n}" pos="{p}" size="0.002"/>' for n, p in d.items())


def xml():
    damping = 'damping="0.5"'
    tendons = []
    for name, path in TENDONS.items():
        parts = "".join(f'<geom geom="{p[0]}" sidesite="{p[1]}"/>' if isinstance(p, tuple)
                        else f'<site site="{p}"/>' for p in path)
        tendons.append(f'<spatial name="{name}">{parts}</spatial>')
    actuators = "".join(f'<muscle tendon="{n}" force="500" lengthrange="0.05 0.5"/>' for n in TENDONS)
    return f"""
<mujoco>
  <option gravity="0 0 -9.81" timestep="0.002" integrator="Euler"><flag contact="disable"/></option>
  <worldbody>
    {sites(SITES_WORLD)}
    <body name="upper" pos="0 0 0">
      <joint name="sh_z" axis="0 0 1" {damping}/><joint name="sh_y" axis="0 1 0" {damping}/>
      <joint name="sh_x" axis="1 0 0" {damping}/>
      <inertial pos="0.012 -0.008 -0.13" mass="2.0" fullinertia="0.021 0.0195 0.004 0.0008 -0.0012 0.001"/>
      <geom name="elbow_cyl" type="cylinder" pos="0.008 -0.005 -0.3"
            zaxis="0.503985616897014 -0.8631506563085745 0.031135871194063983" size="0.02 0.04"
            contype="0" conaffinity="0" mass="0"/>
      <geom name="humeral_head" type="sphere" pos="0.002 0.004 -0.002" size="0.026" contype="0"
            conaffinity="0" mass="0"/>
      {sites(SITES_UPPER)}
      <body name="fore" pos="0.008 -0.005 -0.3">
        <joint name="elbow" axis="0.2 -1 0.15" {damping}/>
        <inertial pos="0.01 0.006 -0.11" mass="1.3" fullinertia="0.009 0.0088 0.0016 -0.0004 0.0006 -0.0005"/>
        {sites(SITES_FORE)}
      </body>
    </body>
  </worldbody>
  <tendon>{"".join(tendons)}</tendon>
  <actuator>{actuators}</actuator>
</mujoco>"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=20000)
    args = ap.parse_args()
    model = mujoco.MjModel.from_xml_string(xml())
    data = mujoco.MjData(model)
    data.qpos[:] = [0.1, 0.3, 0.2, 1.0]
    data.ctrl[:] = 0.2
    rng = np.random.default_rng(0)
    mujoco.mj_step(model, data, nstep=100)
    best = float("inf")
    for _ in range(5):
        data.ctrl[:] = rng.uniform(0, 1, model.nu)
        t0 = time.perf_counter()
        mujoco.mj_step(model, data, nstep=args.steps)
        best = min(best, (time.perf_counter() - t0) / args.steps)
    print(f"mujoco {mujoco.__version__} arm4 (4 dof, 10 muscle tendons): {best * 1e6:.3f} us per mj_step")


if __name__ == "__main__":
    main()
