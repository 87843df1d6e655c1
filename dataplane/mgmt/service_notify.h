// Tells the service manager how the dataplane is doing (systemd's Type=notify): "READY=1" once
// the ports run and the channel exists, so vpnd.service (After=vpn-dataplane.service) starts
// when it can attach, and "STOPPING=1" on the way out. The datagram protocol of sd_notify(3),
// which systemd documents as stable for exactly this use, rather than linking libsystemd for
// one call. Without $NOTIFY_SOCKET (not under systemd) it does nothing.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace portcullis::dp {

// Sends `state` ("READY=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET. OK when there is no
// socket to tell.
absl::Status NotifyServiceManager(const std::string& state);

}  // namespace portcullis::dp
