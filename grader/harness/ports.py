"""Loopback ports for the programs under test.

The grader picks a free port and the submission's server binds it a moment later. Ports
come from a range below the kernel's ephemeral range, so no outgoing connection can take
the port in that moment; within one batch each worker draws from a share of its own
(:meth:`PortRange.claim_share`), and two batches run at once on one machine are given
ranges of their own with ``CHATLAB_PORT_RANGE`` ("21000-24999").
"""

from __future__ import annotations

import os
import random
import socket
import threading

DEFAULT = (20000, 32000)
ATTEMPTS = 200  # random draws before giving up: the range is thousands of ports wide


def parse_range(setting: str | None) -> tuple[int, int]:
    """The range a ``CHATLAB_PORT_RANGE`` value ("LOW-HIGH") names; the default if unset.
    Raises ValueError, naming the setting, if it is malformed."""
    if not setting:
        return DEFAULT
    try:
        low, high = (int(part) for part in setting.split("-"))
    except ValueError:
        raise ValueError(f"CHATLAB_PORT_RANGE={setting!r}: expected LOW-HIGH,"
                         " like 21000-24999") from None
    if not 1024 <= low < high <= 65535:
        raise ValueError(f"CHATLAB_PORT_RANGE={setting!r}: expected 1024 <= LOW < HIGH"
                         " <= 65535")
    return low, high


class PortRange:
    """The ports this grader process may hand to servers, and the draw of a free one."""

    def __init__(self, low: int, high: int) -> None:
        self.bounds = (low, high)
        self._lock = threading.Lock()

    @classmethod
    def from_environment(cls) -> PortRange:
        return cls(*parse_range(os.environ.get("CHATLAB_PORT_RANGE")))

    def claim_share(self, slot: int, count: int) -> tuple[int, int]:
        """Narrow this range to share ``slot`` of ``count`` equal shares (a batch
        worker's), so workers never draw the same port; the new bounds."""
        with self._lock:
            low, high = self.bounds
            width = (high - low + 1) // count
            self.bounds = (low + slot * width, low + (slot + 1) * width - 1)
            return self.bounds

    def free_port(self, host: str = "127.0.0.1") -> int:
        """A port on ``host`` nobody listens on right now."""
        with self._lock:
            for _ in range(ATTEMPTS):
                port = random.randint(*self.bounds)
                with socket.socket(_family(host)) as probe:
                    try:
                        probe.bind((host, port))
                    except OSError:
                        continue
                return port
        raise RuntimeError(f"no free port found on {host} in {self.bounds[0]}-{self.bounds[1]}")


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


# The range of this process: set from the environment at start, narrowed by a batch worker.
PORTS = PortRange.from_environment()


def free_port(host: str = "127.0.0.1") -> int:
    """A free port on ``host`` from this process's range (see :data:`PORTS`)."""
    return PORTS.free_port(host)
