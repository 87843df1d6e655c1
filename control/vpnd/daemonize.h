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
// so the dataplane never sees its owner dead. Only the ready child returns (OK), or the
// original process when it could not fork (the error). A child whose set-up or in_child fails
// hands the reason to the parent, which writes it to stderr and exits 1, and exits 1 itself.
absl::Status Daemonize(absl::FunctionRef<absl::Status()> in_child);

}  // namespace portcullis::vpnd
