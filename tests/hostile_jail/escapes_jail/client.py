"""A hostile client: leave a daemon behind, squat ports, look for classmates' work.

It forks a grandchild that calls setsid() and sleeps on, binds every port it can in
the grader's range, and prints what it can see outside its folder. Only ever run
through the grader; see tests/test_isolation.py.
"""

import os
import socket
import sys
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, [sys.executable, "-c",
                                  "import time; time.sleep(600)  # chatlab-escapee"])
    os._exit(0)
held = []
for port in range(20000, 20400):
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        held.append(sock)
    except OSError:
        sock.close()
print(f"server: squatting {len(held)} ports", flush=True)
print(f"server: sees {sorted(os.listdir('/'))}", flush=True)
time.sleep(600)
