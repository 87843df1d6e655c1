// vpnd: the control plane daemon. Loads and validates the configuration (refusing to start on
// errors), commits it to the dataplane, runs IKE over the channel (punt/inject) or plain kernel
// UDP sockets, serves vpnctl on a unix socket, re-reads the file on SIGHUP, and writes the IPsec
// log. vpnctl's configuration sessions live here too (config_sessions.h); every committed
// configuration goes to the archive in <state-dir>/archive.
//
//   vpnd --config FILE [--transport channel|kernel] [--channel NAME] [--socket PATH]
//        [--log FILE [--log-max-size BYTES] [--log-keep N]] [--foreground]
//        [--debug-keylog FILE] [--state-dir DIR]
//        [--syslog SOCKET] [--metrics-listen ADDR:PORT] [--wireshark-keys DIR]
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "control/vpnd/channel_sa_installer.h"
#include "control/vpnd/control_protocol.h"
#include "control/vpnd/control_socket.h"
#include "control/vpnd/daemonize.h"
#include "control/vpnd/dataplane_link.h"
#include "control/vpnd/dataplane_telemetry.h"
#include "control/vpnd/kernel_transport.h"
#include "control/vpnd/log_fanout.h"
#include "control/vpnd/log_sinks.h"
#include "control/vpnd/logging_sa_installer.h"
#include "control/vpnd/metrics_exporter.h"
#include "control/vpnd/sa_installer.h"
#include "control/vpnd/syslog_sink.h"
#include "control/vpnd/vpnd.h"
#include "control/vpnd/wireshark_keys.h"
#include "dataplane/api/channel_client.h"
#include "ike/crypto/dh_key_pool.h"
#include "ike/sa/drop_log_limiter.h"

ABSL_FLAG(std::string, config, "", "configuration file (required)");
ABSL_FLAG(std::string, transport, "channel",
          "channel: IKE and SAs through vpn-dataplane; kernel: UDP sockets, SAs only logged");
ABSL_FLAG(std::string, channel, "portcullis", "dataplane channel name");
ABSL_FLAG(std::string, socket, portcullis::vpnd::kDefaultSocket, "vpnctl socket");
ABSL_FLAG(std::string, log, "", "IPsec log file");
ABSL_FLAG(uint64_t, log_max_size, 10 * 1024 * 1024,
          "rotate the IPsec log before it grows past this many bytes (0 = never)");
ABSL_FLAG(int, log_keep, 5, "rotated IPsec logs kept (FILE.1 is the newest)");
ABSL_FLAG(bool, foreground, false, "stay in the foreground and log to stderr too");
ABSL_FLAG(std::string, debug_keylog, "",
          "DEBUG ONLY: write IKE and ESP keys to this file (charon level-4 format)");
ABSL_FLAG(int, ike_port, 500, "UDP port for IKE (kernel transport)");
ABSL_FLAG(int, natt_port, 4500, "UDP port for NAT-T (kernel transport)");
ABSL_FLAG(int, crypto_threads, 1,
          "threads that make DH key pairs ahead of the event loop (0 = the loop makes them)");
ABSL_FLAG(int, key_threads, -1,
          "threads that compute IKE_SA_INIT's shared secret and keys off the event loop "
          "(-1 = one per CPU vpnd may use if it may use more than 2, else none; 0 = the loop "
          "computes them)");
ABSL_FLAG(int, ike_sweep_ms, 1000,
          "IKE timers: each loop round visits only the IKE SAs whose timers are due or that "
          "received something; every this many ms it walks every IKE SA as well, a safety net "
          "(0 = every round walks every SA)");
ABSL_FLAG(std::string, state_dir, "",
          "where the configuration archive lives (<dir>/archive); default: the directory of "
          "--config, as Vyatta keeps /config/archive beside /config/config.boot");
ABSL_FLAG(std::string, ike_state, "",
          "where IKE's state is kept for a hitless restart (channel transport; default: "
          "vpnd-<channel>.ike-state in --socket's (run) directory; \"none\" = flush the dataplane "
          "at start instead)");
ABSL_FLAG(absl::Duration, ike_state_max_age, absl::Hours(1),
          "an IKE state file older than this (vpnd down longer) is not resumed: the dataplane is "
          "flushed and the SAs set up again");
ABSL_FLAG(std::string, telemetry, "",
          "the dataplane's DPDK telemetry socket (default: the one of --channel's dataplane)");
ABSL_FLAG(int, commit_revisions, 20, "committed configurations the archive keeps");
ABSL_FLAG(absl::Duration, session_timeout, absl::Hours(1),
          "a configuration session idle this long is closed, its changes discarded");
ABSL_FLAG(std::string, syslog, "",
          "also send every log line to this syslog socket (/dev/log: journald or rsyslog)");
ABSL_FLAG(std::string, metrics_listen, "",
          "serve Prometheus metrics on ADDR:PORT (GET /metrics); off when empty");
ABSL_FLAG(std::string, wireshark_keys, "",
          "DEBUG ONLY: write Wireshark's esp_sa and ikev2_decryption_table (every SA's keys) "
          "into this directory");
ABSL_FLAG(bool, per_worker_sas, true,
          "RFC 9611: with more than one dataplane worker, negotiate a CHILD_SA per worker for "
          "each route-based tunnel with peers that offer SA_RESOURCE_INFO (one CHILD_SA with "
          "others); false: one CHILD_SA per tunnel, the notify never sent");
ABSL_FLAG(double, rekey_fuzz, 1.0,
          "TESTS ONLY: share (0..1) of each rekey margin drawn at random; 0: both ends of equal "
          "lifetimes rekey at the same moment, so their rekeys collide (the lifecycle soak "
          "forces collisions with it; on a hub it would synchronise every peer's rekeys)");
ABSL_FLAG(absl::Duration, test_confirm_minute, absl::Minutes(1),
          "TESTS ONLY: the length of commit-confirm's minute");

namespace {

// DH key pairs kept ready per group: a burst of 64 initiations (IkeManager::kMaxInitiating)
// or IKE_SA_INITs takes them while the workers refill.
constexpr size_t kDhPoolDepth = 64;
// IKE_SA_INIT key computations queued or running at once (ike/crypto/crypto_pool.h): about a
// second of MODP-2048 work on two cores; beyond it the loop computes, which slows its reading.
constexpr size_t kKeyJobs = 1024;

using namespace portcullis;

int Fail(const std::string& msg) {
  std::fprintf(stderr, "vpnd: %s\n", msg.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "vpnd --config FILE [--transport channel|kernel] [--channel NAME] [--socket PATH] "
      "[--log FILE [--log-max-size BYTES] [--log-keep N]] [--foreground] [--debug-keylog FILE]");
  // The documented spelling is --debug-keylog; Abseil flags are identifiers.
  std::vector<std::string> args(argv, argv + argc);
  for (std::string& a : args) {
    for (const char* f : {"--debug-keylog", "--ike-port", "--natt-port", "--state-dir",
                          "--commit-revisions", "--session-timeout", "--test-confirm-minute",
                          "--log-max-size", "--log-keep", "--metrics-listen", "--wireshark-keys"}) {
      std::string flag = f;
      if (a == flag || a.rfind(flag + "=", 0) == 0) {
        for (size_t i = 2; i < flag.size(); ++i) {
          if (a[i] == '-') a[i] = '_';
        }
      }
    }
  }
  std::vector<char*> cargs;
  for (std::string& a : args) cargs.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(cargs.size()), cargs.data());
  const std::string config = absl::GetFlag(FLAGS_config);
  const std::string transport = absl::GetFlag(FLAGS_transport);
  if (config.empty()) return Fail("--config FILE is required");
  if (transport != "channel" && transport != "kernel") {
    return Fail("--transport must be channel or kernel");
  }
  bool foreground = absl::GetFlag(FLAGS_foreground);

  if (absl::GetFlag(FLAGS_log_keep) < 0) return Fail("--log-keep must be 0 or more");
  vpnd::LogRotation rotation;
  rotation.max_bytes = absl::GetFlag(FLAGS_log_max_size);
  rotation.keep = absl::GetFlag(FLAGS_log_keep);
  vpnd::FanoutLog log(absl::GetFlag(FLAGS_log), foreground, 5000, rotation);
  if (!log.ok()) return Fail(absl::StrCat("cannot open the log file ", log.error()));
  std::unique_ptr<vpnd::SyslogSink> syslog;
  // The firewall's per-packet lines are the dataplane's, as on Vyatta: "dataplane[PID]: ...".
  std::unique_ptr<vpnd::SyslogSink> dataplane_syslog;
  if (!absl::GetFlag(FLAGS_syslog).empty()) {
    syslog = std::make_unique<vpnd::SyslogSink>(absl::GetFlag(FLAGS_syslog), "vpnd");
    log.Add(syslog.get());
    dataplane_syslog = std::make_unique<vpnd::SyslogSink>(absl::GetFlag(FLAGS_syslog), "dataplane");
  }
  std::unique_ptr<vpnd::WiresharkKeys> wireshark_keys;
  if (!absl::GetFlag(FLAGS_wireshark_keys).empty()) {
    auto w = vpnd::WiresharkKeys::Open(absl::GetFlag(FLAGS_wireshark_keys));
    if (!w.ok()) return Fail(std::string(w.status().message()));
    wireshark_keys = *std::move(w);
    const std::string warning =
        "WARNING: --wireshark-keys is on: the keys of every IKE and ESP SA are written to " +
        absl::GetFlag(FLAGS_wireshark_keys) +
        " (esp_sa, ikev2_decryption_table); anyone who reads them decrypts this appliance's "
        "traffic";
    std::fprintf(stderr, "vpnd: %s\n", warning.c_str());
    log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false, warning});
  }
  std::unique_ptr<vpnd::KeyLogFile> keylog;
  if (!absl::GetFlag(FLAGS_debug_keylog).empty()) {
    keylog = std::make_unique<vpnd::KeyLogFile>(absl::GetFlag(FLAGS_debug_keylog));
    if (!keylog->ok()) return Fail(absl::StrCat("cannot open the debug key log ", keylog->error()));
  }

  std::unique_ptr<vpnd::KernelTransport> kernel;
  std::optional<dp::api::ChannelClient> dp;
  if (transport == "kernel") {
    auto k = vpnd::KernelTransport::Open(static_cast<uint16_t>(absl::GetFlag(FLAGS_ike_port)),
                                         static_cast<uint16_t>(absl::GetFlag(FLAGS_natt_port)));
    if (!k.ok()) return Fail(std::string(k.status().message()));
    kernel = *std::move(k);
  } else {
    auto c = dp::api::ChannelClient::Attach(absl::GetFlag(FLAGS_channel), /*primary=*/true);
    if (!c.ok()) {
      return Fail(absl::StrCat("cannot attach to the dataplane channel '",
                               absl::GetFlag(FLAGS_channel), "': ", c.status().message()));
    }
    dp.emplace(*std::move(c));
  }

  vpnd::VpndDeps deps;
  deps.clock = [] { return absl::Now(); };
  vpnd::KernelTransport* k = kernel.get();
  // Answers go to whatever source a datagram claimed: a flood from spoofed, unreachable sources
  // fails here once per packet, so the failures are counted and logged once per interval.
  ike::DropLogLimiter send_failures("failed sends");
  deps.send = [k, &log, &send_failures](const ike::Datagram& d) {
    if (k == nullptr) return;
    absl::Status st = k->Send(d);
    if (!st.ok()) {
      absl::Time now = absl::Now();
      if (auto line = send_failures.Drop(now, std::string(st.message()))) {
        log.Write(ike::LogRecord{now, ike::LogGroup::kNet, "", 0, false, *line});
      }
    }
  };
  if (k != nullptr) deps.interface_name = vpnd::KernelTransport::InterfaceName;
  deps.log = &log;
  deps.dataplane_syslog = dataplane_syslog.get();
  deps.keylog = keylog.get();
  deps.observer = wireshark_keys.get();
  // The channel transport programs the dataplane; the kernel one has nothing that carries ESP,
  // so its CHILD SAs are only logged.
  std::unique_ptr<vpnd::DataplaneLink> link;
  std::unique_ptr<vpnd::SaInstaller> installer;
  if (dp) {
    std::string name = absl::GetFlag(FLAGS_channel);
    link = std::make_unique<vpnd::DataplaneLink>(
        &*dp,
        [name] {
          return dp::api::ChannelClient::Attach(name, /*primary=*/true, absl::Milliseconds(100));
        },
        absl::Seconds(2), deps.clock, &log);
    installer = std::make_unique<vpnd::ChannelSaInstaller>(*link, deps.clock, &log);
  } else {
    installer = std::make_unique<vpnd::LoggingSaInstaller>(deps.clock, &log);
  }
  deps.link = link.get();
  deps.installer = installer.get();
  std::unique_ptr<vpnd::DataplaneTelemetry> telemetry;
  if (dp) {
    std::string path = absl::GetFlag(FLAGS_telemetry);
    if (path.empty()) path = vpnd::DataplaneTelemetry::DefaultPath(absl::GetFlag(FLAGS_channel));
    telemetry = std::make_unique<vpnd::DataplaneTelemetry>(path);
  }
  deps.telemetry = telemetry.get();
  deps.per_worker_sas = absl::GetFlag(FLAGS_per_worker_sas);
  if (dp) {
    std::string path = absl::GetFlag(FLAGS_ike_state);
    if (path.empty()) {
      // In the socket's (run) directory, named after the dataplane channel whose SAs it
      // describes: two appliances on one machine keep their own.
      const std::string sock = absl::GetFlag(FLAGS_socket);
      size_t slash = sock.rfind('/');
      path = absl::StrCat(slash == std::string::npos ? "." : sock.substr(0, slash), "/vpnd-",
                          absl::GetFlag(FLAGS_channel), ".ike-state");
    }
    if (path != "none") deps.ike_state_path = path;
    deps.ike_state_origin = absl::GetFlag(FLAGS_channel);
    deps.ike_state_max_age = absl::GetFlag(FLAGS_ike_state_max_age);
    // Below a minute the file would be rewritten with every SA's keys on almost every loop
    // round (every quarter of it), and a restart would hardly ever find it young enough.
    if (deps.ike_state_max_age < absl::Minutes(1)) {
      return Fail("--ike-state-max-age must be at least 1m");
    }
  }
  // vpnd runs from / once it is a daemon: files are remembered by their absolute paths (the
  // configuration file is also `save`'s default).
  char buf[PATH_MAX];
  std::string config_abs = realpath(config.c_str(), buf) ? buf : config;
  std::string state_dir = absl::GetFlag(FLAGS_state_dir);
  if (state_dir.empty()) {
    size_t slash = config_abs.rfind('/');
    state_dir = slash == std::string::npos ? "." : slash == 0 ? "/" : config_abs.substr(0, slash);
  }
  if (realpath(state_dir.c_str(), buf) == nullptr) {
    return Fail(absl::StrCat("--state-dir ", state_dir, ": ", std::strerror(errno)));
  }
  state_dir = buf;
  deps.archive_dir = state_dir + "/archive";
  if (absl::GetFlag(FLAGS_commit_revisions) < 1) return Fail("--commit-revisions must be >= 1");
  deps.commit_revisions = static_cast<size_t>(absl::GetFlag(FLAGS_commit_revisions));
  deps.sessions.idle_timeout = absl::GetFlag(FLAGS_session_timeout);
  deps.sessions.confirm_minute = absl::GetFlag(FLAGS_test_confirm_minute);
  if (deps.sessions.confirm_minute != absl::Minutes(1)) {
    log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                             absl::StrCat("WARNING: --test-confirm-minute: commit-confirm's "
                                          "minute lasts ",
                                          absl::FormatDuration(deps.sessions.confirm_minute))});
  }
  vpnd::Vpnd daemon(deps);
  {
    const double fuzz = absl::GetFlag(FLAGS_rekey_fuzz);
    if (!(fuzz >= 0.0 && fuzz <= 1.0)) return Fail("--rekey_fuzz must be between 0 and 1");
    ike::ManagerOptions o = daemon.ike().options();
    o.rekey_fuzz = fuzz;
    daemon.ike().SetOptions(o);
    if (fuzz < 1.0) {
      log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                               absl::StrCat("WARNING: --rekey_fuzz ", fuzz,
                                            " (tests only): equal lifetimes rekey together")});
    }
  }
  if (keylog) {
    log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                             "WARNING: --debug-keylog is on: IKE and ESP keys are written to " +
                                 absl::GetFlag(FLAGS_debug_keylog)});
  }
  absl::Status st = daemon.LoadFile(config_abs, "vpnd via startup (" + config_abs + ")");
  if (!st.ok()) return Fail(std::string(st.message()));

  auto ctl = vpnd::ControlSocket::Listen(absl::GetFlag(FLAGS_socket));
  if (!ctl.ok()) return Fail(std::string(ctl.status().message()));

  // The parent exits only once the child owns the dataplane channel's slot (registered under
  // the parent's pid at Attach): systemd (Type=forking) then starts a ready vpnd, and the
  // dataplane never sees its primary client dead, which would stop the punting of IKE to it.
  if (!foreground) {
    absl::Status d = vpnd::Daemonize(
        [&link]() -> absl::Status { return link ? link->AdoptAfterFork() : absl::OkStatus(); });
    if (!d.ok()) return Fail(absl::StrCat("cannot become a daemon: ", d.message()));
  }

  // After Daemonize(): the exposer's threads would not survive the fork.
  std::unique_ptr<vpnd::MetricsExporter> metrics;
  if (!absl::GetFlag(FLAGS_metrics_listen).empty()) {
    auto m = vpnd::MetricsExporter::Start(
        absl::GetFlag(FLAGS_metrics_listen),
        dp ? vpnd::TelemetryPathForChannel(absl::GetFlag(FLAGS_channel)) : "");
    if (!m.ok()) {
      log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                               std::string(m.status().message())});
      return Fail(std::string(m.status().message()));
    }
    metrics = *std::move(m);
    log.Add(metrics->log_counters());
    std::string ports;
    for (int p : metrics->ports()) absl::StrAppend(&ports, ports.empty() ? "" : ",", p);
    log.Write(ike::LogRecord{
        absl::Now(), ike::LogGroup::kCfg, "", 0, false,
        absl::StrCat("metrics: serving Prometheus on ", absl::GetFlag(FLAGS_metrics_listen),
                     " (port ", ports, ") at /metrics")});
  }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGHUP);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  // After Daemonize() (threads do not survive the fork) and after the signals are blocked (a
  // thread inherits the mask; one that did not block SIGHUP/SIGTERM would take them, and
  // SIGHUP's default action ends the process): the DH key pairs of IKE_SA_INIT and
  // CREATE_CHILD_SA are made ahead on these (ike/crypto/dh_key_pool.h).
  ike::DhKeyPool::Start(absl::GetFlag(FLAGS_crypto_threads), kDhPoolDepth);
  {
    // Tick's walk of every IKE SA, per loop round, was most of the loop's CPU per setup with
    // 1,000 SAs and more: a timer heap instead (ike_manager.h, ManagerOptions::sweep_interval).
    ike::ManagerOptions o = daemon.ike().options();
    o.sweep_interval = absl::Milliseconds(std::max(0, absl::GetFlag(FLAGS_ike_sweep_ms)));
    daemon.ike().SetOptions(o);
  }
  // Likewise after Daemonize() and the signal mask: g^ir, SKEYSEED and SK_* of IKE_SA_INIT.
  {
    int key_threads = absl::GetFlag(FLAGS_key_threads);
    if (key_threads < 0) {
      // The CPUs vpnd may run on (taskset, a cgroup's cpuset), not all the machine has.
      cpu_set_t cpus;
      key_threads = sched_getaffinity(0, sizeof cpus, &cpus) == 0
                        ? std::max(1, CPU_COUNT(&cpus))
                        : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
      // On 2 CPUs (this lab, a small appliance, shared with the dataplane's lcores) the hand-off
      // bought no setup rate in interleaved A/Bs and lost some at high load: keys on the loop.
      if (key_threads <= 2) key_threads = 0;
    }
    daemon.ike().StartCryptoPool(key_threads, kKeyJobs);
  }
  signal(SIGPIPE, SIG_IGN);
  int sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

  log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                           absl::StrCat("vpnd started (", transport, " transport)")});
  if (kernel) {
    log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kNet, "", 0, false,
                             absl::StrCat("kernel transport: IKE socket receive buffer ",
                                          kernel->receive_buffer(), " bytes")});
  }
  // From here on the loop writes the lines of each round together, at the end of the round.
  log.SetBuffered(true);
  bool running = true;
  absl::Time stop_by = absl::InfiniteFuture();
  vpnd::Vpnd::Backlog backlog = vpnd::Vpnd::Backlog::kNone;
  while (running) {
    std::vector<pollfd> fds;
    fds.push_back({sfd, POLLIN, 0});
    size_t first_kernel = 1;
    if (kernel) {
      for (int fd : kernel->fds()) fds.push_back({fd, POLLIN, 0});
    }
    size_t end_kernel = fds.size();
    const int crypto_fd = daemon.ike().crypto_fd();
    if (crypto_fd >= 0) fds.push_back({crypto_fd, POLLIN, 0});
    (*ctl)->AddPollFds(&fds);  // the listening socket and every vpnctl connection
    // The channel has no descriptor to wait on: vpnd looks at it every 2 ms, at once while
    // punted IKE waits beyond one Poll's share, and after 100 us while it waits for inject
    // buffers the dataplane is sending (it sends a burst in far less).
    const long wait_us = backlog == vpnd::Vpnd::Backlog::kMore          ? 0
                         : backlog == vpnd::Vpnd::Backlog::kInjectsBusy ? 100
                         : dp                                           ? 2000
                                                                        : 20000;
    const timespec wait{0, wait_us * 1000};
    ppoll(fds.data(), fds.size(), &wait, nullptr);
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo si;
      while (read(sfd, &si, sizeof si) == sizeof si) {
        if (si.ssi_signo == SIGHUP) {
          log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                                   "SIGHUP: re-reading " + daemon.config_path()});
          absl::Status r = daemon.LoadFile(daemon.config_path(),
                                           "vpnd via SIGHUP (" + daemon.config_path() + ")");
          if (!r.ok()) {
            log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                                     std::string(r.message())});
          }
        } else if (stop_by == absl::InfiniteFuture()) {
          log.Write(ike::LogRecord{absl::Now(), ike::LogGroup::kCfg, "", 0, false,
                                   "shutting down: deleting IKE_SAs"});
          daemon.ike().SetPeers({});  // deletes every IKE SA, telling the peers
          stop_by = absl::Now() + absl::Milliseconds(500);
        }
      }
    }
    // Non-blocking: each connection moves as far as its socket allows, then the loop goes on.
    (*ctl)->Serve([&](const std::vector<std::string>& w) { return daemon.Command(w); });
    for (size_t i = first_kernel; i < end_kernel; ++i) {
      if (fds[i].revents & POLLIN) {
        kernel->Receive(fds[i].fd, [&](const ike::Datagram& d) { daemon.HandleDatagram(d); });
      }
    }
    if (crypto_fd >= 0 && (fds[end_kernel].revents & POLLIN)) daemon.HandleCryptoResults();
    backlog = daemon.Poll();
    if (metrics) metrics->Update(daemon.ike(), daemon.installer(), daemon.Peers(), absl::Now());
    if (absl::Now() >= stop_by) running = false;
    log.Flush();
  }
  if (link) {
    for (int i = 0; i < 100 && link->InjectsInFlight() > 0; ++i) usleep(1000);
  }
  // Before exit() runs OpenSSL's cleanup under a worker that is making a key.
  ike::DhKeyPool::Stop();
  return 0;
}
