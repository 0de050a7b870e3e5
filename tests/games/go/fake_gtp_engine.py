"""A tiny stdlib-only GTP engine for tests of the gtp: player and the match runner.

    python fake_gtp_engine.py MODE [MARKER] [-- REAL ENGINE ARGV...]

Modes (what happens at ``genmove``):
  resign   answer ``resign``
  crash    write "fatal: out of cheese" to stderr and exit 3
  hang     never answer
  cleanup  answer ``pass`` to genmove and ``A1`` to kgs-genmove_cleanup (which it claims to know)
  illegal  answer ``A1`` every time
  proxy-crash / proxy-hang
           forward everything to the real engine after ``--``; at the 3rd genmove die / hang,
           but only while the MARKER file does not exist (it is created first), so only once
"""

import os
import subprocess
import sys
import time


def main() -> None:
    mode = sys.argv[1]
    marker = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "--" else None
    real = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else None
    child = subprocess.Popen(real, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) if real else None
    genmoves = 0
    for line in sys.stdin:
        parts = line.split()
        if not parts:
            continue
        cmd_id = parts[0] if parts[0].isdigit() else ""
        words = parts[1:] if cmd_id else parts
        name = words[0] if words else ""
        if name.startswith("genmove") or name == "kgs-genmove_cleanup":
            genmoves += 1
        if child is not None:
            if genmoves == 3 and marker and not os.path.exists(marker) and name.startswith("genmove"):
                open(marker, "w").close()
                if mode == "proxy-crash":
                    sys.stderr.write("fatal: dying on purpose\n")
                    sys.stderr.flush()
                    child.kill()
                    sys.exit(3)
                time.sleep(3600)
            child.stdin.write(line)
            child.stdin.flush()
            while True:
                out = child.stdout.readline()
                sys.stdout.write(out)
                if out.strip() == "" and out != "":
                    break
                if out == "":
                    sys.exit(0)
            sys.stdout.flush()
            if name == "quit":
                break
            continue
        answer = ""
        if name == "quit":
            sys.stdout.write(f"={cmd_id}\n\n")
            sys.stdout.flush()
            break
        if name == "known_command":
            answer = "true" if mode == "cleanup" and words[1:] == ["kgs-genmove_cleanup"] else "false"
        elif name == "kgs-genmove_cleanup":
            answer = "A1"
        elif name == "genmove":
            if mode == "resign":
                answer = "resign"
            elif mode == "crash":
                sys.stderr.write("fatal: out of cheese\n")
                sys.stderr.flush()
                sys.exit(3)
            elif mode == "hang":
                time.sleep(3600)
            elif mode == "cleanup":
                answer = "pass"
            elif mode == "illegal":
                answer = "A1"
        sys.stdout.write(f"={cmd_id} {answer}\n\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
