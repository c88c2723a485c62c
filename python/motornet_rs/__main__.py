"""``python -m motornet_rs verify FILE…``: closed-loop verification through torch (see
:mod:`motornet_rs.verify`)."""

import sys


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print("usage: python -m motornet_rs verify FILE.json... [--interpreted] [--tolerance T]")
        return 0 if argv else 2
    if argv[0] == "verify":
        from .verify import main as verify

        return verify(argv[1:])
    print(f"unknown command `{argv[0]}` (commands: verify)", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
