# mk/shared.mk - two clients of one shared filesystem (root):
#
#   make check-shared        tests/shared/cases.sh under each harness whose run.sh exists: NFS
#                            (v3 and v4.2, server and clients in a user-mode-linux guest) and
#                            GlusterFS (two FUSE clients); every case runs one process per
#                            client, and each negative control must be caught
#   make check-shared-local  the same cases on two bind mounts of one tmpfs, for development and
#                            for machines without the servers
#
# Outside CI both exit 77 (skip) when not root; under CI=true they fail instead.
# See tests/shared/README.md.

.PHONY: check-shared check-shared-local shared-tools

SHARED_XCLIENT := $(B)/tests/shared/xclient
# The local-fs control treats every filesystem as local (flock, cached sizes, group commit):
# on a real shared mount the cases must catch it. One file of its tree names the whole set
# ($(B)/shared-tools below): two recursive makes in one control tree would race.
SHARED_CONTROL := $(B)/control/local-fs/shared-tools

# A harness's packages are listed in its PACKAGES file once it has one.
shared_packages = $(if $(wildcard tests/shared/$(1)/PACKAGES),$(shell sed 's/\#.*//' \
                    tests/shared/$(1)/PACKAGES),$(2))
HEAVY_DEB_PACKAGES += $(call shared_packages,nfs,user-mode-linux nfs-kernel-server rpcbind \
                        iproute2) \
                      $(call shared_packages,gluster,glusterfs-server glusterfs-client iproute2) \
                      util-linux mount coreutils

DEPS += $(SHARED_XCLIENT).d
$(SHARED_XCLIENT): tests/shared/xclient.c $(SHARED_XCLIENT).d $(STATICLIB)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(DEPFLAGS) $(ALL_CFLAGS) $< -o $@ $(STATICLIB) -lpthread $(LDFLAGS)

# What a run needs from one build tree: the client program and the CLI.
.PHONY: $(B)/shared-tools
$(B)/shared-tools: $(SHARED_XCLIENT) $(B)/ajio

shared-tools: $(B)/shared-tools

check-shared: deps-heavy
	@$(MAKE) --no-print-directory $(B)/shared-tools $(SHARED_CONTROL)
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/shared/run-all.sh nfs gluster

# The local harness cannot catch the local-fs control (a local filesystem is what it assumes),
# so the control is built only once the control exists.
check-shared-local:
	@$(MAKE) --no-print-directory $(B)/shared-tools \
	    $(if $(filter local-fs,$(CONTROLS)),$(SHARED_CONTROL))
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/shared/run-all.sh local
