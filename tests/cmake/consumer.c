/* Built by tests/cmake/CMakeLists.txt against an installed libajio: writes argv[2] to argv[1]
 * and checks that the library it runs with is the one whose header it was compiled with. */
#include <ajio.h>
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: consumer FILE TEXT\n");
        return 2;
    }
    if (strcmp(ajio_version(), AJIO_VERSION_STRING) != 0) {
        fprintf(stderr, "consumer: header %s, library %s\n", AJIO_VERSION_STRING, ajio_version());
        return 1;
    }
    int r = ajio_write_text(argv[1], argv[2], NULL);
    if (r != 0) {
        fprintf(stderr, "consumer: %s\n", ajio_last_error());
        return 1;
    }
    return 0;
}
