/*
 * fskind.c - prints "local" or "shared" for each PATH: how the library treats the filesystem
 * it is on (ajio_fs_probe()). The scripts and the Python suite ask this instead of keeping their
 * own list of filesystem magic numbers, to know which sync calls a write makes there.
 *
 *   fskind PATH...      exit 0, or 1 with the library's message when a probe fails
 */
#include <stdio.h>

#include "ajio.h"

int main(int argc, char **argv)
{
    ajio_fs_info info;
    int i;

    if (argc < 2) {
        fputs("usage: fskind PATH...\n", stderr);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        if (ajio_fs_probe(argv[i], &info) < 0) {
            fprintf(stderr, "fskind: %s\n", ajio_last_error());
            return 1;
        }
        puts(info.kind == AJIO_FS_LOCAL ? "local" : "shared");
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
