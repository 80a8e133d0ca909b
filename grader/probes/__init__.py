"""What the grader asks the operating system about a program under test.

- :mod:`.cpu`        CPU a program's threads wanted (busy loops), and a reference spinner;
- :mod:`.counts`     thread and descriptor counts, and waiting until they settle;
- :mod:`.tcp_queue`  how many bytes the other end of a loopback connection has not read.
"""
