#!/usr/bin/env python3
"""What the imported Arm26 should give under the language's wrapping rule, computed independently of the
compiler (numpy only), against OpenSim's lengths in tests/reference/opensim/arm26_paths.json.

The skeleton is rebuilt from the reference's `model` summary (tests/import.rs checks that the importer's
kinematics put every path point where OpenSim does, to 1e-12 m). The paths, wraps and side points are read
from models/arm26_opensim.mnet as the importer wrote them. Wrapping follows README.3d.md's MuJoCo 4.0 rule:
cylinders exactly (finite ones wrapped only while a tangent point lies within their length); an ellipsoid by the sphere rule in coordinates scaled by its radii, the tangent points and
the great-circle arc mapped back and measured in real coordinates (one reading of the language's smooth
approximation; the compiler's may differ in the arc). A wrap without a side point wraps only where the
straight segment crosses the obstacle, the shorter way round. Wraps between the same two points are chained
in two passes (docs/language.md §20.5): first each from the exit tangent point of the last one that wrapped
towards the next point; then again, each aimed at the first-pass entry tangent point of the first later wrap
that wrapped (the next point if none did).

    python3 scripts/arm26_wrap_prediction.py                 # the shipped layout
    python3 scripts/arm26_wrap_prediction.py --variants      # TRIlong's alternatives

Prints, per muscle: the largest |length error| at postures OpenSim reports unwrapped and at wrapped ones,
and the number of postures where the wrap state (ours: longer than the straight polyline) disagrees with
OpenSim's (`active_wraps` naming an object our path carries).
"""
import json
import math
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
REF = json.loads((ROOT / "tests/reference/opensim/arm26_paths.json").read_text())
MNET = (ROOT / "models/arm26_opensim.mnet").read_text()
MODEL = REF["model"]
# Cylinders the generated file gives a length: finite (wrapped only while a tangent point lies within).
FINITE = {m.group(1): float(m.group(2)) for m in re.finditer(r"obstacle (\w+): cylinder \{[^}]*length ([-0-9.e]+) m;", MNET)}


def xyz(r):
    (a, b, c) = r
    rx = np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])
    ry = np.array([[math.cos(b), 0, math.sin(b)], [0, 1, 0], [-math.sin(b), 0, math.cos(b)]])
    rz = np.array([[math.cos(c), -math.sin(c), 0], [math.sin(c), math.cos(c), 0], [0, 0, 1]])
    return rx @ ry @ rz


def axis_angle(axis, q):
    a = np.array(axis) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + math.sin(q) * k + (1 - math.cos(q)) * k @ k


JOINTS = {j["name"]: j for j in MODEL["joints"]}
WRAPS = {w["name"]: dict(w, body=b["name"]) for b in MODEL["bodies"] for w in b["wrap_objects"]}


def poses(q):
    """World (R, p) of each body: ground -> base (weld) -> r_humerus -> r_ulna_radius_hand."""
    out = {"ground": (np.eye(3), np.zeros(3))}
    weld = JOINTS["offset"]["parent_frame"]["translation"]
    out["base"] = (np.eye(3), np.array(weld, dtype=float))
    for name, parent, child, k in [("r_shoulder", "base", "r_humerus", 0), ("r_elbow", "r_humerus", "r_ulna_radius_hand", 1)]:
        j = JOINTS[name]
        r, p = out[parent]
        out[child] = (r @ axis_angle(j["spatial_transform"][0]["axis"], q[k]), p + r @ np.array(j["parent_frame"]["translation"]))
    return out


def signed_angle(a, b):
    return math.atan2(a[0] * b[1] - a[1] * b[0], a[0] * b[0] + a[1] * b[1])


def wrap_2d(p2, s2, r, side2):
    """README.3d.md's 2D rule; side2 on the circle, or None (wrap only where PS crosses, shorter way)."""
    n_p, n_s = np.linalg.norm(p2), np.linalg.norm(s2)
    if n_p < r or n_s < r:
        return None
    if side2 is None:
        d = s2 - p2
        t = np.clip(-(p2 @ d) / (d @ d), 0.0, 1.0)
        c = p2 + t * d
        if np.linalg.norm(c) >= r:
            return None
        side2 = r * c / np.linalg.norm(c)
    w = signed_angle(p2, side2) + signed_angle(side2, s2)
    a_p, a_s = math.acos(r / n_p), math.acos(r / n_s)
    if abs(w) <= a_p + a_s:
        return None
    return w, a_p, a_s


def wrapped_length(p, s, obj, frame, side_local):
    """The wrapped length from p to s, the length up to the exit tangent point, that point and the entry
    tangent point (world), or None where the segment does not wrap."""
    rot, origin = frame
    pl, sl = rot.T @ (p - origin), rot.T @ (s - origin)
    if obj["type"] == "WrapCylinder":
        r = obj["radius"]
        side2 = None if side_local is None else r * side_local[:2] / np.linalg.norm(side_local[:2])
        res = wrap_2d(pl[:2], sl[:2], r, side2)
        if res is None:
            return None
        w, a_p, a_s = res
        l0, a, l1 = math.sqrt(pl[:2] @ pl[:2] - r * r), r * (abs(w) - a_p - a_s), math.sqrt(sl[:2] @ sl[:2] - r * r)
        flat = l0 + a + l1
        heights = [pl[2] + (sl[2] - pl[2]) * share for share in (l0 / flat, (l0 + a) / flat)]
        if obj["name"] in FINITE and all(abs(z) > FINITE[obj["name"]] / 2 for z in heights):
            return None  # both tangent points beyond the finite cylinder
        total = math.hypot(flat, sl[2] - pl[2])
        th = math.atan2(sl[1], sl[0]) - math.copysign(a_s, w)
        exit_point = np.array([r * math.cos(th), r * math.sin(th), heights[1]])
        th_in = math.atan2(pl[1], pl[0]) + math.copysign(a_p, w)
        entry_point = np.array([r * math.cos(th_in), r * math.sin(th_in), heights[0]])
        return total, total * (l0 + a) / flat, rot @ exit_point + origin, rot @ entry_point + origin
    radii = np.array(obj["dimensions"])
    ps, ss = pl / radii, sl / radii
    n = np.cross(ps, ss)
    n /= np.linalg.norm(n)
    e1 = ps / np.linalg.norm(ps)
    e2 = np.cross(n, e1)
    to2 = lambda v: np.array([v @ e1, v @ e2])  # noqa: E731
    side2 = None
    if side_local is not None:
        d2 = to2(side_local / radii)
        side2 = d2 / np.linalg.norm(d2)
    res = wrap_2d(to2(ps), to2(ss), 1.0, side2)
    if res is None:
        return None
    w, a_p, a_s = res
    sign = 1.0 if w > 0 else -1.0
    start = signed_angle(np.array([1.0, 0.0]), to2(ps)) + sign * a_p
    phi = abs(w) - a_p - a_s
    arc = [(math.cos(start + sign * phi * k / 400) * e1 + math.sin(start + sign * phi * k / 400) * e2) * radii for k in range(401)]
    length = sum(np.linalg.norm(arc[k + 1] - arc[k]) for k in range(400))
    to_exit = np.linalg.norm(pl - arc[0]) + length
    return to_exit + np.linalg.norm(arc[-1] - sl), to_exit, rot @ arc[-1] + origin, rot @ arc[0] + origin


def mnet_paths(text):
    """{muscle: [(body, point) | ('wrap', name, side or None)]} from the generated file."""
    out = {}
    vec = r"\(([^)]*)\)"
    for m in re.finditer(r"muscle (\w+): \w+ \{(.*?)\n  \}", text, re.S):
        body = re.sub(r"//[^\n]*", "", m.group(2))
        path = body[body.index("path ") + 5:]
        elems = []
        for part in re.split(r"\s*->\s*", re.sub(r"//[^\n]*", "", path).strip().rstrip(";")):
            part = part.strip()
            w = re.match(r"wrap (\w+)(?: side " + vec + r" m)?", part)
            if w:
                side = None if w.group(2) is None else np.array([float(x) for x in w.group(2).split(",")])
                elems.append(("wrap", w.group(1), side))
            else:
                p = re.match(r"(\w+) " + vec + " m", part)
                elems.append((p.group(1), np.array([float(x) for x in p.group(2).split(",")])))
        out[m.group(1)] = elems
    return out


def length_of(elems, q):
    """Our path length at q and whether a wrap is active. Wraps between the same two points are chained in
    two passes (see the module's docstring)."""
    world = poses(q)
    pts, wraps = [], {}
    for e in elems:
        if e[0] == "wrap":
            wraps.setdefault(len(pts) - 1, []).append((e[1], e[2]))
        else:
            r, p = world[e[0]]
            pts.append(r @ e[1] + p)
    total, wrapped = 0.0, False
    for i in range(len(pts) - 1):
        chain = wraps.get(i, [])

        def one_pass(targets):
            """(length, each wrap's result or None) with each wrap aimed at its target."""
            start, length, results = pts[i], 0.0, []
            for (name, side), target in zip(chain, targets):
                obj = WRAPS[name]
                rb, pb = world[obj["body"]]
                frame = (rb @ xyz(obj["xyz_body_rotation"]), pb + rb @ np.array(obj["translation"]))
                side_local = None
                if side is not None:  # the side point is in the body frame; the rule wants it in the object's
                    side_local = xyz(obj["xyz_body_rotation"]).T @ (side - np.array(obj["translation"]))
                res = wrapped_length(start, target, obj, frame, side_local)
                results.append(res)
                if res is not None:
                    length += res[1]
                    start = res[2]
            return length + np.linalg.norm(pts[i + 1] - start), results

        _, first = one_pass([pts[i + 1]] * len(chain))
        # Each wrap aims at the next first-pass-active wrap's entry point, the last (or with none) at the point.
        targets, aim = [], pts[i + 1]
        for res in reversed(first):
            targets.append(aim)
            if res is not None:
                aim = res[3]
        length, second = one_pass(targets[::-1])
        total += length
        wrapped = wrapped or any(res is not None for res in second)
    return total, wrapped


def iterated_trilong(q, passes):
    """TRIlong's length with its first segment's chain iterated as OpenSim does (README.3d.md): after the
    first pass the glenoid wrap aims at the humeral head's entry tangent point instead of at P2, and the
    humeral head is wrapped again from the glenoid's new exit point. Written for TRIlong alone, apart from
    length_of's general chain: with 2 passes it is what the language computes; --variants shows 1 and 2."""
    elems = mnet_paths(MNET)["TRIlong"]
    world = poses(q)
    pts = [world[e[0]][0] @ e[1] + world[e[0]][1] for e in elems if e[0] != "wrap"]
    (glen, glen_side), (hh, _), (tri, _) = [(e[1], e[2]) for e in elems if e[0] == "wrap"]

    def frame(name):
        obj = WRAPS[name]
        rb, pb = world[obj["body"]]
        return obj, (rb @ xyz(obj["xyz_body_rotation"]), pb + rb @ np.array(obj["translation"]))

    def entry(start, name):
        """The humeral head's entry tangent point from `start` towards P2 (no side point)."""
        obj, (rot, origin) = frame(name)
        radii = np.array(obj["dimensions"])
        ps, ss = rot.T @ (start - origin) / radii, rot.T @ (pts[1] - origin) / radii
        n = np.cross(ps, ss)
        n /= np.linalg.norm(n)
        e1 = ps / np.linalg.norm(ps)
        e2 = np.cross(n, e1)
        w, a_p, _ = wrap_2d(np.array([ps @ e1, ps @ e2]), np.array([ss @ e1, ss @ e2]), 1.0, None)
        t = signed_angle(np.array([1.0, 0.0]), np.array([ps @ e1, ps @ e2])) + math.copysign(a_p, w)
        return rot @ ((math.cos(t) * e1 + math.sin(t) * e2) * radii) + origin

    obj = WRAPS[glen]
    side = xyz(obj["xyz_body_rotation"]).T @ (glen_side - np.array(obj["translation"]))
    target = pts[1]
    for _ in range(passes):
        start, total = pts[0], 0.0
        g = wrapped_length(pts[0], target, *frame(glen), side)
        if g is not None:
            total, start = g[1], g[2]
        h = wrapped_length(start, pts[1], *frame(hh), None)
        if h is None:
            total += np.linalg.norm(pts[1] - start)
            target = pts[1]
        else:
            total += h[0]
            target = entry(start, hh)
    t = wrapped_length(pts[3], pts[4], *frame(tri), None)
    total += np.linalg.norm(pts[2] - pts[1]) + np.linalg.norm(pts[3] - pts[2])
    return total + (t[0] if t else np.linalg.norm(pts[4] - pts[3]))


def report_iterated(passes):
    k = REF["muscles"].index("TRIlong")
    worst_l = worst_d = 0.0
    for s in REF["samples"]:
        if not s["active_wraps"][k]:
            continue
        q = s["q"]
        worst_l = max(worst_l, abs(iterated_trilong(q, passes) - s["length"][k]))
        for c in range(2):
            up, down = list(q), list(q)
            up[c] += 1e-6
            down[c] -= 1e-6
            d = (iterated_trilong(up, passes) - iterated_trilong(down, passes)) / 2e-6
            worst_d = max(worst_d, abs(d + s["neg_dL_dq"][k][c]))
    print(f"TRIlong, chain {passes} pass{'es' if passes > 1 else ''}    wrapped length {worst_l:9.2e} m, dL/dq {worst_d:9.2e} m")


def report(label, muscle, elems):
    k = REF["muscles"].index(muscle)
    carried = {e[1] for e in elems if e[0] == "wrap"}
    worst_free, worst_wrapped, disagree = (0.0, None), (0.0, None), 0
    for s in REF["samples"]:
        length, wrapped = length_of(elems, s["q"])
        err = abs(length - s["length"][k])
        active = [a["wrap_object"] for a in s["active_wraps"][k]]
        disagree += wrapped != any(a in carried for a in active)
        if active:
            worst_wrapped = max(worst_wrapped, (err, s["q"]), key=lambda x: x[0])
        else:
            worst_free = max(worst_free, (err, s["q"]), key=lambda x: x[0])
    print(f"{label:26} unwrapped {worst_free[0]:9.2e} m {str(worst_free[1]):14} "
          f"wrapped {worst_wrapped[0]:9.2e} m {str(worst_wrapped[1]):14} wrap-state disagreements {disagree}")


def main():
    paths = mnet_paths(MNET)
    for muscle, elems in paths.items():
        report(muscle, muscle, elems)
    if "--variants" in sys.argv:
        base = paths["TRIlong"]
        # The shipped chain without the glenoid cylinder (the single wrap the importer wrote before chains).
        report("TRIlong, hh alone", "TRIlong", [e for e in base if not (e[0] == "wrap" and e[1] == "TRIlongglen")])
        # The humeral head with a side point on its quadrant's axis (z), as cylinders get.
        hh = WRAPS["TRIlonghh"]
        side = np.array(hh["translation"]) + xyz(hh["xyz_body_rotation"]) @ np.array([0, 0, 2 * hh["dimensions"][2]])
        report("TRIlong, hh side point", "TRIlong", [("wrap", e[1], side) if e[0] == "wrap" and e[1] == "TRIlonghh" else e for e in base])
        for passes in (1, 2):
            report_iterated(passes)

if __name__ == "__main__":
    main()
