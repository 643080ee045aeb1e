# mk/shared.mk - two clients of one shared filesystem: tests/shared/xclient, one client's part
# of a cross-client case. See tests/shared/README.md.

.PHONY: shared-tools

SHARED_XCLIENT := $(B)/tests/shared/xclient

DEPS += $(SHARED_XCLIENT).d
$(SHARED_XCLIENT): tests/shared/xclient.c $(SHARED_XCLIENT).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) -lpthread $(LDFLAGS)

# What a run needs from one build tree: the client program and the CLI.
.PHONY: $(B)/shared-tools
$(B)/shared-tools: $(SHARED_XCLIENT) $(B)/ajio

shared-tools: $(B)/shared-tools
