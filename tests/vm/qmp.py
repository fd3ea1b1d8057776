#!/usr/bin/env python3
"""A minimal QMP client for the VM tests (hot-plug).

    tests/vm/qmp.py SOCK 'JSON command' ['JSON command' ...]

Connects to QEMU's monitor socket (-qmp unix:SOCK,server,nowait; waits up to 30 s for it),
negotiates capabilities, runs each command in order and prints each reply as one JSON line.
Asynchronous events are skipped. Exits 1 on the first error reply, 2 when QEMU goes away.
"""
import json
import socket
import sys
import time


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    path = sys.argv[1]
    deadline = time.monotonic() + 30
    while True:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(path)
            break
        except OSError:
            s.close()
            if time.monotonic() > deadline:
                sys.exit(f"qmp: no monitor at {path}")
            time.sleep(0.1)
    f = s.makefile("rw", encoding="utf-8")

    def reply():
        while True:
            line = f.readline()
            if not line:
                print("qmp: QEMU closed the monitor", file=sys.stderr)
                sys.exit(2)
            msg = json.loads(line)
            if "event" not in msg:
                return msg

    reply()  # the greeting
    for cmd in [{"execute": "qmp_capabilities"}] + [json.loads(a) for a in sys.argv[2:]]:
        f.write(json.dumps(cmd) + "\n")
        f.flush()
        r = reply()
        print(json.dumps({"command": cmd["execute"], **r}))
        if "error" in r:
            sys.exit(1)


if __name__ == "__main__":
    main()
