"""`python -m egress_guard ...`: the same command line as the `egress-guard` script."""

from egress_guard.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
