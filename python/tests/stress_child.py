"""Child processes of test_concurrency.py (run as a script, not collected by pytest).

    stress_child.py writer PATH WRITER_ID THREADS SECONDS [naive]
    stress_child.py reader PATH SECONDS_OR_STOPFILE
    stress_child.py killee PATH WRITER_ID

Every document a writer writes checks itself: {"w", "seq", "pad", "sum"} where sum is the crc32
of the rest, so a reader can tell a complete document from a torn or mixed one.
"""

import json
import os
import random
import sys
import threading
import time
import zlib

import atomic_json_io as aj


def document(writer, seq, rnd):
    # 0 B to 256 KiB of padding: large documents take many write(2) calls, where a naive writer
    # is caught half way.
    pad = "x" * rnd.choice((0, 10, 1000, 50_000, 262_144))
    body = {"w": writer, "seq": seq, "pad": pad}
    body["sum"] = zlib.crc32(json.dumps(body, sort_keys=True).encode())
    return body


def verify(text):
    """Returns None for a complete document, else why not."""
    try:
        doc = json.loads(text)
    except ValueError as e:
        return "not JSON (%d bytes): %s" % (len(text), e)
    s = doc.pop("sum", None)
    if s != zlib.crc32(json.dumps(doc, sort_keys=True).encode()):
        return "checksum mismatch"
    return None


def naive_write(path, doc):
    with open(path, "w") as f:  # truncate, then write in place: what atomic writes avoid
        json.dump(doc, f)
        f.write("\n")


def writer(path, writer_id, threads, seconds, naive=False):
    deadline = time.monotonic() + seconds
    counts = [0] * threads
    errors = []

    def run(t):
        rnd = random.Random("%s.%d" % (writer_id, t))
        seq = 0
        try:
            while time.monotonic() < deadline:
                doc = document("%s.%d" % (writer_id, t), seq, rnd)
                if naive:
                    naive_write(path, doc)
                else:
                    # mostly atomic-only (many writes per second); every 16th durable
                    aj.write_json_atomic(path, doc, durable=(seq % 16 == 0), indent=None)
                seq += 1
        except BaseException as e:
            errors.append(repr(e))
        counts[t] = seq

    ts = [threading.Thread(target=run, args=(t,)) for t in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        sys.exit("writer %s: %s" % (writer_id, errors[0]))
    print(sum(counts))


def reader(path, stopfile):
    reads = torn = 0
    first = None
    while not os.path.exists(stopfile):
        try:
            with open(path, "rb") as f:
                text = f.read()
        except FileNotFoundError:
            continue
        reads += 1
        why = verify(text)
        if why:
            torn += 1
            first = first or why
    print(json.dumps({"reads": reads, "torn": torn, "first": first}))


def killee(path, writer_id):
    rnd = random.Random()
    seq = 0
    print("ready", flush=True)
    while True:
        aj.write_json_atomic(path, document(writer_id, seq, rnd), durable=False, indent=None)
        seq += 1


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "writer":
        writer(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]),
               naive=len(sys.argv) > 6 and sys.argv[6] == "naive")
    elif cmd == "reader":
        reader(sys.argv[2], sys.argv[3])
    elif cmd == "killee":
        killee(sys.argv[2], sys.argv[3])
    else:
        sys.exit("unknown command " + cmd)
