"""Server log lines are found even when two threads' prints mixed them."""

from __future__ import annotations

import re

from grader.profile import log_pattern

TEMPLATE = "Nova conexão: ('{ip}', {port})"  # what print('Nova conexão:', addr) writes


def test_a_line_mixed_word_by_word_with_another_is_found_loosely() -> None:
    # print(a, b) writes a, the space and b one by one: two threads interleave them.
    mixed = "Nova conexão:Conexão encerrada: ('127.0.0.1', 40114) ('127.0.0.1', 40116)\n\n"
    strict = log_pattern(TEMPLATE, ip="127.0.0.1", port=40116)
    loose = log_pattern(TEMPLATE, ip="127.0.0.1", port=40116, loose=True)
    assert not any(re.search(strict, line) for line in mixed.splitlines())
    assert re.search(loose, mixed)


def test_the_port_is_the_whole_number() -> None:
    for loose in (False, True):
        pattern = log_pattern("[join] {nick} {ip}:{port}", nick="ana", ip="127.0.0.1",
                              port=4011, loose=loose)
        assert re.search(pattern, "[join] ana 127.0.0.1:4011")
        assert not re.search(pattern, "[join] ana 127.0.0.1:40116")
    loose = log_pattern(TEMPLATE, ip="127.0.0.1", port=40116, loose=True)
    assert not re.search(loose, "Nova conexão: ('127.0.0.1', 140116)")
