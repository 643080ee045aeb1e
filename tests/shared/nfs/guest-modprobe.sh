#!/bin/sh
# modprobe inside the UML guest, also used by the kernel for its own module
# requests (guest-init.sh writes this path to /proc/sys/kernel/modprobe):
# the UML modules live in /usr/lib/uml/modules, and guest-init.sh made a
# private root whose lib/modules points there.
exec /usr/sbin/modprobe -d /run/ajio-nfs/modroot "$@"
