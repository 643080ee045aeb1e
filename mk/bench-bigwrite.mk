# Large writes at the floor: "ajio write FILE < input" against cat(1) copying the same 1 GiB, on
# tmpfs and on the disk, from a regular file and from a pipe, with and without --json, durable
# and --no-sync, in paired rounds. Results and the exact command: bench/README.md, section
# "Large writes through the tool".
#
#   make bench-bigwrite                          everything (about 10 minutes)
#   make bench-bigwrite BENCH_QUICK=1            64 MiB, 3 rounds: a smoke run
#   make bench-bigwrite BENCH_BIGWRITE_DISK=/mnt/x BENCH_BIGWRITE_TMPFS=/run/x   other places

BENCH_TARGETS += bench-bigwrite

.PHONY: bench-bigwrite
bench-bigwrite: $(B)/ajio
	AJIO_BUILD=$(B) BENCH_QUICK="$(BENCH_QUICK)" BENCH_BIGWRITE_DISK="$(BENCH_BIGWRITE_DISK)" \
	    BENCH_BIGWRITE_TMPFS="$(BENCH_BIGWRITE_TMPFS)" /usr/bin/python3 bench/bigwrite.py
