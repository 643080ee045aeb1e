/*
 * test_cpu.c - the kernel chosen at run time: AJIO_KERNEL forces each kernel the CPU has, a
 * kernel it lacks (or a name that is none) falls back to the best it has, and the choice is the
 * same for every call of a process. Each case runs in a child: the choice is made once.
 */
#include "testutil.h"

#include "internal.h"

#include <sys/wait.h>
#include <unistd.h>

/* The kernel a fresh process chooses with AJIO_KERNEL=want (NULL: unset). */
static int chosen_with(const char *want)
{
    int fds[2], status, k = -1;
    pid_t pid;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int a, b;

        if (want)
            setenv("AJIO_KERNEL", want, 1);
        else
            unsetenv("AJIO_KERNEL");
        a = ajio__kernel();
        setenv("AJIO_KERNEL", "scalar", 1); /* read once: a later change is not seen */
        b = ajio__kernel();
        if (write(fds[1], &a, sizeof(a)) != sizeof(a) || a != b)
            _exit(1);
        _exit(0);
    }
    close(fds[1]);
    assert_int_equal(read(fds[0], &k, sizeof(k)), sizeof(k));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return k;
}

static void test_forced(void **state)
{
    int best = ajio__kernel_best();

    (void)state;
    assert_true(best >= AJIO__KERNEL_SCALAR && best < AJIO__KERNEL_COUNT);
    assert_int_equal(chosen_with(NULL), best);
    assert_int_equal(chosen_with(""), best);
    assert_int_equal(chosen_with("no-such-kernel"), best);
    for (int k = 0; k < AJIO__KERNEL_COUNT; k++) {
        int got = chosen_with(ajio__kernel_name(k));

        print_message("kernel %s: %s\n", ajio__kernel_name(k),
                      k <= best ? "runs here" : "not on this CPU: the best one runs");
        assert_int_equal(got, k <= best ? k : best);
    }
    assert_string_equal(ajio__kernel_name(AJIO__KERNEL_COUNT), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forced),
    };
    return cmocka_run_group_tests_name("cpu", tests, NULL, NULL);
}
