/*
 * LD_PRELOAD shim for Debian's linux.uml (6.1) on hosts with AMX.
 *
 * UML 6.1 saves a guest thread's FPU state with PTRACE_GETREGSET
 * (NT_X86_XSTATE) into a fixed 2696-byte buffer and writes it back with
 * PTRACE_SETREGSET.  The host kernel accepts a SETREGSET only with the full
 * XSAVE size of the host CPU; with AMX (tile data: 8 KiB more) that is about
 * 11 KiB, so the first SETREGSET fails with EFAULT and UML panics at init
 * ("userspace - ptrace set fp regs failed, errno = 14").
 *
 * GETREGSET with a short buffer is fine (the kernel truncates), so only
 * SETREGSET is changed here: the caller's buffer is copied into a buffer of
 * the host's size, and every state component that does not lie wholly inside
 * the caller's buffer is dropped from XSTATE_BV, which makes the kernel load
 * its init state.  The 2696 bytes hold x87, SSE, AVX, AVX-512 and PKRU, so
 * nothing a guest process can use is lost: AMX needs a permission
 * (arch_prctl ARCH_REQ_XCOMP_PERM) that the UML guest kernel never grants,
 * so tile state is always in its init state anyway.
 *
 * Every other ptrace request is passed to the C library unchanged.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define XSTATE_BV_OFFSET 512	/* XSAVE header follows the 512-byte legacy area */
#define BIG 65536		/* larger than any XSAVE area the CPU can have */

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static unsigned char buf[BIG];	/* UML issues these calls from one host thread */
static size_t host_size;

static ptrace_fn real_ptrace(void)
{
	static ptrace_fn fn;

	if (!fn)
		fn = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");
	return fn;
}

/*
 * Bits of the XSAVE components that end beyond len bytes (standard format).
 * CPUID is slow in a virtual machine and UML sets the registers on every
 * return to a guest process: the answer for the last len is kept.
 */
static uint64_t components_beyond(size_t len)
{
	static size_t cached_len;
	static uint64_t cached_mask;
	uint64_t mask = 0;
	unsigned int eax, ebx, ecx, edx, i;

	if (len == cached_len)
		return cached_mask;

	/* components 0 (x87) and 1 (SSE) live in the legacy area */
	for (i = 2; i < 64; i++) {
		if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx))
			break;
		if (eax == 0 || (ecx & 1))	/* absent, or supervisor state */
			continue;
		if ((size_t)ebx + eax > len)
			mask |= (uint64_t)1 << i;
	}
	cached_len = len;
	cached_mask = mask;
	return mask;
}

static long set_xstate(pid_t pid, struct iovec *iov)
{
	struct iovec full;
	uint64_t bv;

	if (!host_size) {
		/* a GETREGSET with a big buffer reports the size the kernel wants */
		full.iov_base = buf;
		full.iov_len = sizeof(buf);
		if (real_ptrace()(PTRACE_GETREGSET, pid, (void *)NT_X86_XSTATE, &full) < 0)
			return -1;
		host_size = full.iov_len;
	}
	if (iov->iov_len >= host_size || iov->iov_len < XSTATE_BV_OFFSET + 8)
		return real_ptrace()(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, iov);

	memset(buf, 0, host_size);
	memcpy(buf, iov->iov_base, iov->iov_len);
	memcpy(&bv, buf + XSTATE_BV_OFFSET, sizeof(bv));
	bv &= ~components_beyond(iov->iov_len);
	memcpy(buf + XSTATE_BV_OFFSET, &bv, sizeof(bv));

	full.iov_base = buf;
	full.iov_len = host_size;
	return real_ptrace()(PTRACE_SETREGSET, pid, (void *)NT_X86_XSTATE, &full);
}

long ptrace(enum __ptrace_request request, ...)
{
	va_list ap;
	pid_t pid;
	void *addr, *data;

	va_start(ap, request);
	pid = va_arg(ap, pid_t);
	addr = va_arg(ap, void *);
	data = va_arg(ap, void *);
	va_end(ap);

	if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE)
		return set_xstate(pid, data);
	return real_ptrace()(request, pid, addr, data);
}
