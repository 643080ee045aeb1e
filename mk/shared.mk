# mk/shared.mk - two clients of one shared filesystem (root):
#
#   make check-shared        tests/shared/cases.sh under each harness whose run.sh exists: NFS
#                            (v3 and v4.2, server and clients in a user-mode-linux guest) and
#                            GlusterFS (two FUSE clients); every case runs one process per
#                            client, and each negative control must be caught
#   make check-shared-local  the same cases on two bind mounts of one tmpfs, for development and
#                            for machines without the servers
#   make check-shared-heavy  the unit and CLI suites on each shared mount (tests/shared/heavy.sh,
#                            known failures in tests/shared/heavy-xfail), then the cases on
#                            GlusterFS with its default client caches
#
# Outside CI both exit 77 (skip) when not root; under CI=true they fail instead.
# See tests/shared/README.md.

.PHONY: check-shared check-shared-local check-shared-heavy shared-tools

HEAVY_TARGETS += check-shared

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

# GlusterFS's client keeps names, attributes and small files in caches for a second by default:
# another client's replace stays unseen, a locked read can read an old version, and reads meet
# ESTALE (docs/fs-matrix.md). The cases run with the options that turn those caches off, which
# the documentation names; check-shared-heavy runs them with the defaults too.
SHARED_GLUSTER_MOUNT_OPTS ?= entry-timeout=0,attribute-timeout=0,negative-timeout=0
SHARED_GLUSTER_VOLUME_SET ?= performance.stat-prefetch off;performance.quick-read off;performance.open-behind off
# With those caches off, 0.3.0's local mechanisms hold on GlusterFS 10.3 (its flock is forwarded
# between clients): the local-fs control is not expected to be caught there.
SHARED_GLUSTER_ENV = AJIO_GLUSTER_MOUNT_OPTS="$(SHARED_GLUSTER_MOUNT_OPTS)" \
                     AJIO_GLUSTER_VOLUME_SET="$(SHARED_GLUSTER_VOLUME_SET)" \
                     XC_LOCALFS_HOLDS="glusterfs=GlusterFS 10.3 forwards flock, and its client caches are off"

check-shared: deps-heavy
	@$(MAKE) --no-print-directory $(B)/shared-tools $(SHARED_CONTROL)
	@AJIO_BUILD=$(B) CI="$(CI)" $(SHARED_GLUSTER_ENV) bash tests/shared/run-all.sh nfs gluster

# The project's unit and CLI suites on each shared mount (client A), then the cases on GlusterFS
# with its default caches, whose known failures are listed (each named with its reason).
SHARED_DEFAULT_XFAIL := glusterfs:replace-readers=default client caches: B's library reader meets ESTALE beyond its 2 s and reads a version a second old
check-shared-heavy: deps-heavy
	@$(MAKE) --no-print-directory all $(UNIT_BIN) $(B)/shared-tools $(SHARED_CONTROL)
	@set -e; for h in nfs gluster; do echo "=== heavy $$h"; \
	    AJIO_BUILD=$(B) $(SHARED_GLUSTER_ENV) SHARED_XFAIL="$$(cat tests/shared/heavy-xfail)" \
	        bash tests/shared/$$h/run.sh bash tests/shared/heavy.sh; done
	@echo "=== cases on GlusterFS with its default caches"
	@AJIO_BUILD=$(B) CI="$(CI)" XC_XFAIL="$(SHARED_DEFAULT_XFAIL)" \
	    bash tests/shared/run-all.sh gluster

# The local harness cannot catch the local-fs control (a local filesystem is what it assumes),
# so the control is built only once the control exists.
check-shared-local:
	@$(MAKE) --no-print-directory $(B)/shared-tools \
	    $(if $(filter local-fs,$(CONTROLS)),$(SHARED_CONTROL))
	@AJIO_BUILD=$(B) CI="$(CI)" bash tests/shared/run-all.sh local
