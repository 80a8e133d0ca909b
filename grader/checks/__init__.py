"""The checks, one module per topic. :func:`all_checks` lists them in a stable order."""

from __future__ import annotations

from ..registry import CheckSpec, collect
from . import (
    client,
    end_to_end,
    server_core,
    server_extensions,
    server_filtering,
    server_framing,
    server_program,
    server_robustness,
    units,
)

MODULES = (server_core, units, server_framing, server_filtering, server_robustness,
           server_extensions, server_program, client, end_to_end)


def all_checks() -> list[CheckSpec]:
    """Every check, in declaration order (server core first, end to end last)."""
    return collect(MODULES)
