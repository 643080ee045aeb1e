"""bench/gen_table.py RAW - the tables of bench/README.md "JSON generator" from bench_gen's rows.

Each cell is the median over the rounds of that writer's seconds per document (each round's
figure being itself a median of 7 runs). MB/s counts the writer's own output bytes (10^6);
ratios are of documents per second, since the writers' bytes differ a little (cJSON's tabs,
RapidJSON's shortest doubles against %.17g). Against RapidJSON each kernel is compared with the
RapidJSON runs of its own process (rapidjson~KERNEL), interleaved run by run; "gen" is the share
of the time that is not jansson's walk of its tree (walk~KERNEL, same process).
"""

import statistics
import sys

DOCS = ["twitter.json", "citm_catalog.json", "canada.json"]
LAYOUTS = ["compact", "pretty"]
ORDER = ["before", "scalar", "sse42", "avx2", "avx512", "rapidjson", "jansson", "cJSON", "json-c",
         "memcpy"]


def main(path):
    sec, size = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 6 or parts[0] != "row":
                continue
            _, label, doc, layout, nbytes, s = parts
            sec.setdefault((label, doc, layout), []).append(float(s))
            size[(label, doc, layout)] = int(nbytes)
    labels = [l for l in ORDER if any(k[0] == l for k in sec)]
    med = {k: statistics.median(v) for k, v in sec.items()}
    rounds = max(len(v) for v in sec.values())
    cols = [(d, l) for d in DOCS for l in LAYOUTS]

    print(f"MB/s of output, median of {rounds} rounds\n")
    print("| writer | " + " | ".join(f"{d.split('.')[0]} {l}" for d, l in cols) + " |")
    print("|---|" + "---:|" * len(cols))
    for label in labels:
        cells = []
        for d, l in cols:
            k = (label, d, l)
            cells.append(f"{size[k] / med[k] / 1e6:.0f}" if k in med else "-")
        print(f"| {label} | " + " | ".join(cells) + " |")

    kernels = [l for l in ["before", "scalar", "sse42", "avx2", "avx512"] if l in labels]
    peers = [p for p in ["before", "rapidjson", "jansson", "cJSON", "json-c"] if p in labels]
    print("\nlibajio per kernel (and before): documents per second against each peer (x), % of "
          "memcpy's speed, and the generator's share of its time (the rest: jansson's walk)\n")
    print("| kernel | against | " + " | ".join(f"{d.split('.')[0]} {l}" for d, l in cols)
          + " |")
    print("|---|---|" + "---:|" * len(cols))
    for k in kernels:
        for p in [p for p in peers if p != k] + ["memcpy", "walk"]:
            cells = []
            for d, l in cols:
                same = p in ("rapidjson", "walk")
                a, b = med.get((k, d, l)), med.get((f"{p}~{k}" if same else p, d, l))
                if a is None or b is None:
                    cells.append("-")
                elif p == "memcpy":
                    cells.append(f"{100 * b / a:.1f}%")
                elif p == "walk":
                    cells.append(f"{100 * (a - b) / a:.0f}% gen")
                else:
                    cells.append(f"{b / a:.2f}x")
            print(f"| {k} | {p} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main(sys.argv[1])
