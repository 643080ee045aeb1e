"""The Python side of make bench-peers: python-atomicwrites, the original atomic-json-io
package's algorithm and our atomic_json_io, driven by bench/peers/run.py over the line protocol
described in bench/peers/peers_c.c (load, write, timed, loop, quit).

The variants:

  atomicwrites   atomicwrites.atomic_write(path, mode="wb", overwrite=True): mkstemp in the
                 target's directory, write, flush, fsync, rename, fsync of the directory
  original       the original atomic-json-io's published algorithm, re-expressed here: a
                 sibling temp file, write the text, flush, os.fsync, os.replace. No directory
                 fsync. Its json.dumps is left out: the payload is handed over as text already
                 encoded, so that every implementation writes the same bytes and the encoder's
                 cost is not mixed into the comparison.
  ours           atomic_json_io.write_text_atomic(path, text) (python/ of this repository),
                 durable: libajio's ajio_write_bytes underneath
  ours-nosync    the same with durable=False

Timing is taken here, around the writes only: the pipe to the driver is outside the clock.
"""

import os
import sys
import tempfile
import time

try:
    import atomicwrites
except ImportError:  # reported per command, so the other variants still run
    atomicwrites = None

try:
    import atomic_json_io
except ImportError:
    atomic_json_io = None


def write_atomicwrites(path, data, text):
    with atomicwrites.atomic_write(path, mode="wb", overwrite=True) as f:
        f.write(data)


def write_original(path, data, text):
    directory = os.path.dirname(path) or "."
    f = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=directory, prefix=os.path.basename(path) + ".",
        suffix=".tmp", delete=False)
    try:
        with f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(f.name, path)
    except BaseException:
        try:
            os.unlink(f.name)
        except OSError:
            pass
        raise


def ours_writer(durable):
    """atomic_json_io.write_text_atomic: the payload ends with a newline, so the function adds
    none and the bytes written are the payload's."""
    if atomic_json_io is None:
        raise RuntimeError("atomic_json_io is not built (make python-build)")
    write = atomic_json_io.write_text_atomic

    def w(path, data, text):
        write(path, text, durable=durable)
    return w


def writer(variant):
    if variant == "atomicwrites":
        if atomicwrites is None:
            raise RuntimeError("python3-atomicwrites is not installed")
        return write_atomicwrites
    if variant == "original":
        return write_original
    if variant == "ours":
        return ours_writer(True)
    if variant == "ours-nosync":
        return ours_writer(False)
    raise RuntimeError("unknown variant " + variant)


def main():
    payloads = []
    out = sys.stdout
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd, args = words[0], words[1:]
        try:
            if cmd == "quit":
                break
            if cmd == "load":
                payloads = []
                for name in args:
                    with open(name, "rb") as f:
                        data = f.read()
                    # The payloads are ASCII JSON, so the text and the bytes written are equal.
                    payloads.append((data, data.decode("utf-8")))
                if not payloads:
                    raise RuntimeError("load: no file")
                out.write("ok %d\n" % len(payloads[0][0]))
            elif cmd in ("write", "timed", "loop"):
                variant, path = args[0], args[1]
                fn = writer(variant)
                k = len(payloads)
                if k == 0:
                    raise RuntimeError("no payload loaded")
                if cmd == "write":
                    n = int(args[2])
                    t0 = time.perf_counter_ns()
                    for i in range(n):
                        data, text = payloads[i % k]
                        fn(path, data, text)
                    out.write("ok %d\n" % (time.perf_counter_ns() - t0))
                elif cmd == "timed":
                    deadline = time.monotonic() + int(args[2]) / 1000.0
                    i = 0
                    while time.monotonic() < deadline:
                        data, text = payloads[i % k]
                        fn(path, data, text)
                        i += 1
                    out.write("ok %d\n" % i)
                else:
                    out.write("ok started\n")
                    out.flush()
                    i = 0
                    while True:
                        data, text = payloads[i % k]
                        fn(path, data, text)
                        i += 1
            else:
                raise RuntimeError("unknown command " + cmd)
        except Exception as e:  # one failed command must not end the worker
            out.write("err %s\n" % str(e).replace("\n", " "))
        out.flush()


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # the driver went away: nothing left to answer
        sys.exit(1)
