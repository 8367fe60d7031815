"""The emulator's proxy with the `Ec2Like` hook, in a process of its own:

    python benchmarks/_proxy_process.py UPSTREAM_URL LATENCY_SECONDS

prints the proxy's URL on one line, then serves until its standard input closes. Used where
the proxy's own work (parsing and paging XML) must not share a GIL with the code under test.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _bench import Ec2Like, emulator_proxy


def main() -> None:
    upstream, latency = sys.argv[1], float(sys.argv[2])
    proxy = emulator_proxy.Proxy(upstream)
    shim = Ec2Like(latency)

    def forgetful(
        request: emulator_proxy.Request, forward: emulator_proxy.Forward
    ) -> emulator_proxy.Response:
        proxy.clear_calls()  # nobody reads them here; keep the process small
        return shim(request, forward)

    proxy.on("*", forgetful)
    with proxy:
        print(proxy.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    main()
