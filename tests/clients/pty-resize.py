#!/usr/bin/env python3
"""Runs a command on a new pty of 24x80, as a person's terminal, and resizes it once.

Usage: pty-resize.py MARKER COMMAND [ARG...]
When MARKER first appears in the command's output, the pty becomes 40x132 (the kernel
sends SIGWINCH to the command, as a terminal window being resized does). Prints the
whole output and exits with the command's exit code; a command that is still running
after 30 s is killed and the exit code is 124.
"""
import fcntl
import os
import pty
import select
import signal
import struct
import sys
import termios
import time


def set_size(fd, rows, cols):
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def main():
    marker = sys.argv[1].encode()
    cmd = sys.argv[2:]
    pid, master = pty.fork()
    if pid == 0:
        set_size(0, 24, 80)
        os.execvp(cmd[0], cmd)
    out = b""
    resized = False
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 4096)
            except OSError:  # EIO: the command closed the pty's last slave
                break
            if not data:
                break
            out += data
        if not resized and marker in out:
            set_size(master, 40, 132)
            resized = True
    else:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        sys.stdout.write(out.decode(errors="replace"))
        sys.exit(124)
    _, status = os.waitpid(pid, 0)
    sys.stdout.write(out.decode(errors="replace"))
    sys.exit(os.waitstatus_to_exitcode(status))


if __name__ == "__main__":
    main()
