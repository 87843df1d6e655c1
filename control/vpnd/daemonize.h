// vpnd becoming a daemon for a service manager that waits for its parent (systemd's
// Type=forking, SysV scripts).
#pragma once

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"

namespace portcullis::vpnd {

// As daemon(3) (fork, setsid, chdir /, stdio on /dev/null), except that the parent waits for
// the child: it exits 0 only once `in_child` has succeeded in the child, so whoever waits for
// the parent sees a daemon that is ready, and what the parent registered under its own pid (the
// dataplane channel's primary slot) is taken over by the child while the parent still lives,
// so the dataplane never sees its owner dead. The parent never returns from this: on an error
// of the child (or a child that dies first) it writes the reason to stderr and exits 1. In the
// child it returns in_child's status (or the set-up's error); the caller exits on an error.
absl::Status Daemonize(absl::FunctionRef<absl::Status()> in_child);

}  // namespace portcullis::vpnd
