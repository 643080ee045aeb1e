# The negative controls of the trust suites (tests/test_trust_lock.c, tests/test_trust_append.c):
# each suite, built against a library with one of its promises broken (mk/controls.mk), must
# fail. keep-unsafe-lock: a lock file that others may open is used as it is, and
# test_trust_lock must see it left open; no-committed: the repair judges tails by their bytes
# alone, and test_trust_append must see a killed append's complete lines kept and another
# writer's bytes deleted. Root only (the suites need other users); part of check-heavy.
HEAVY_TARGETS += check-trust-controls

.PHONY: check-trust-controls
check-trust-controls:
	@$(MAKE) --no-print-directory $(B)/control/keep-unsafe-lock/tests/test_trust_lock
	@$(MAKE) --no-print-directory $(B)/control/no-committed/tests/test_trust_append
	@set -e; for c in keep-unsafe-lock:test_trust_lock no-committed:test_trust_append; do \
	    bin=$(B)/control/$${c%%:*}/tests/$${c#*:}; \
	    if $$bin >$(B)/control/$${c%%:*}/out.log 2>&1; then \
	        echo "control $${c%%:*}: $${c#*:} passed, it must fail"; exit 1; fi; \
	    echo "control $${c%%:*}: $${c#*:} fails as it must ($$(grep -c '^\[  FAILED  \] [a-z]' \
	        $(B)/control/$${c%%:*}/out.log) tests caught it)"; \
	done
