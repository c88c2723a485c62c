"""``python -m motornet_rs verify FILE…``: closed-loop verification through torch (see
:mod:`motornet_rs.verify`); ``sweep SPEC.toml --out DIR`` and ``sweep-report DIR``: parameter sweeps on
Ray (see :mod:`motornet_rs.sweeps`)."""

import sys

USAGE = """usage: python -m motornet_rs COMMAND ...
  verify FILE.json... [--interpreted] [--tolerance T]
  sweep SPEC.toml --out DIR [--address ADDRESS] [--cpus-per-run N] [--retry-failed]
  sweep-report DIR [--out FIGURES]"""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    if argv[0] == "verify":
        from .verify import main as verify

        return verify(argv[1:])
    if argv[0] in ("sweep", "sweep-report"):
        from . import sweeps

        return (sweeps.main if argv[0] == "sweep" else sweeps.main_report)(argv[1:])
    print(f"unknown command `{argv[0]}` (commands: verify, sweep, sweep-report)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
