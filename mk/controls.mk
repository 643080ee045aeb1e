# Negative controls: the library built with one promise broken on purpose, so that a suite can
# prove it catches the breakage. Each control is a build tree of its own, $(B)/control/NAME/
# (library, tool and test programs, by the same rules as $(B)), made by a recursive make with
# B=$(B)/control/NAME and -DAJIO_TEST_<NAME> (upper case, '-' as '_'): the one switch in src/
# marked "negative control of ... only". No object of the real build can leak into a control or
# back.
#
#   omit-file-sync    no fdatasync of the temp (src/commit.c)                  make check-crash
#   omit-dir-sync     no fsync of the directory after the rename (commit.c)   make check-crash
#   ignore-fdatasync  a failed fdatasync of the temp is ignored (commit.c)    make check-fault
#   keep-temp         a named temp is not removed after a failure (handle.c)  make check-fault
#   ignore-setxattr   a failed setxattr of the ACL or a user.* attribute is ignored (meta.c)
#                                                                             make check-fault
#   omit-append-sync  no fdatasync after an append or a repair (append.c, group.c)
#                                                                             make check-crash
#   no-cut-back       a failed append is not cut back to its old size (append.c)
#                                                                             make check-fault
#   group-trust       group commit takes any finished sync to cover every ticket, so appenders
#                     return without a sync that covers their records (group.c)  make check-crash
#   keep-unsafe-lock  a lock file others may open is used as it is by its owner or root, neither
#                     retired nor narrowed (lock.c)                    make check-trust-controls
#   no-committed      the repair ignores what the lock file records and judges every tail by
#                     its bytes, as 0.2 did (append.c)                 make check-trust-controls,
#                                                                      make check-crash
#   trust-stale       the repair takes a record from before a power cut or a remount for exact
#                     and cuts from where the append it names started (append.c)  make check-crash
#   txn-keep-staging  a transaction that fails before its commit point leaves its temps and plan
#                     (txn.c)                                                 make check-fault
#   rename-before-intent  a transaction renames its temps over the members before its intent is
#                     written, so a crash between them is rolled back half-applied (txn.c)
#                                                                             make check-crash
#   local-fs          every filesystem is taken as local (fs.c): flock, cached sizes and group
#                     commit on NFS and GlusterFS too, as in 0.3.0               make check-shared
#
# A suite asks for one file of each control tree (e.g. $(B)/control/keep-temp/fault/driver) and
# the recursive make decides what is out of date, hence FORCE. One file per tree in one make
# run: two recursive makes in the same tree would race under -j.
CONTROLS := omit-file-sync omit-dir-sync ignore-fdatasync keep-temp ignore-setxattr \
            omit-append-sync no-cut-back group-trust keep-unsafe-lock no-committed trust-stale \
            rename-before-intent txn-keep-staging local-fs

# The control a path below $(B)/control/ belongs to, in a recipe.
control_name = $(firstword $(subst /, ,$*))

.PHONY: FORCE
$(B)/control/%: FORCE
	$(if $(filter $(control_name),$(CONTROLS)),,$(error unknown control "$(control_name)"))
	@$(MAKE) --no-print-directory B=$(B)/control/$(control_name) \
	    CPPFLAGS="$(CPPFLAGS) -DAJIO_TEST_$$(echo $(control_name) | tr a-z- A-Z_)" $@
