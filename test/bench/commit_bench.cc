// How long vpnd takes to commit a large configuration, phase by phase: the file loaded (parse
// and commit checks), the model built, the IKE mapping, the dataplane plan and diff, then the
// whole commit (`Vpnd::LoadFile`: all of the above, the IKE configuration set up and the batch
// streamed through a real channel to a stand-in dataplane thread that acknowledges it). Prints
// a table of vpnd's CPU seconds (its thread's: the machine is shared) and the whole commit's
// wall time, and last `commit_s=<CPU seconds of the whole commit> commit_wall_s=<its wall
// time, from the file to the stand-in dataplane's ack>`.
//
//   commit_bench FILE [FILE2]   FILE2: committed after FILE (a reconfiguration), timed alone
//   commit_bench --session FILE   instead of loading FILE, a `vpnctl configure` session sets
//                                 every line of it (timed), compares and commits (timed)
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "control/config/config_loader.h"
#include "control/config/model.h"
#include "control/vpnd/channel_sa_installer.h"
#include "control/vpnd/config_mapping.h"
#include "control/vpnd/config_sessions.h"
#include "control/vpnd/control_protocol.h"
#include "control/vpnd/dataplane_link.h"
#include "control/vpnd/dataplane_plan.h"
#include "control/vpnd/firewall_plan.h"
#include "control/vpnd/log_sinks.h"
#include "control/vpnd/vpnd.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/channel_server.h"

using namespace portcullis;

namespace {

struct NullSink : ike::LogSink {
  void Write(const ike::LogRecord&) override {}
};

// CPU seconds of this thread: the machine is shared, so wall time says little about vpnd.
double ThreadCpu() {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec * 1e-9;
}

[[noreturn]] void Die(const std::string& why) {
  std::fprintf(stderr, "commit_bench: %s\n", why.c_str());
  std::exit(1);
}

// The phases vpnd's commit goes through, each timed alone.
void Phases(const std::string& path) {
  double t = ThreadCpu();
  absl::StatusOr<config::LoadedConfig> loaded = config::LoadConfigFile(path);
  if (!loaded.ok()) Die(std::string(loaded.status().message()));
  if (!loaded->ok()) Die(absl::StrCat(path, ": the configuration has errors"));
  const double load = ThreadCpu() - t;
  t = ThreadCpu();
  config::Model model = config::BuildModel(loaded->tree);
  const double build = ThreadCpu() - t;
  t = ThreadCpu();
  vpnd::ReqidAllocator reqids;
  absl::StatusOr<vpnd::IkeSetup> setup = vpnd::MapConfig(model, reqids);
  if (!setup.ok()) Die(std::string(setup.status().message()));
  const double map = ThreadCpu() - t;
  t = ThreadCpu();
  vpnd::InterfaceIndexes ifindexes;
  vpnd::FirewallIds fw_ids;
  vpnd::DataplaneObjects desired = vpnd::PlanDataplane(model, ifindexes, fw_ids);
  const double plan = ThreadCpu() - t;
  t = ThreadCpu();
  std::vector<dp::api::Message> batch = vpnd::DiffBatch({}, desired);
  const double diff = ThreadCpu() - t;
  std::printf("%-44s %10.3f s\n", "load (parse + commit checks)", load);
  std::printf("%-44s %10.3f s\n", "model", build);
  std::printf("%-44s %10.3f s  (%zu peers)\n", "IKE mapping (config_mapping)", map,
              setup->peers.size());
  std::printf("%-44s %10.3f s  (%zu objects)\n", "dataplane plan (dataplane_plan)", plan,
              desired.size());
  std::printf("%-44s %10.3f s  (%zu messages)\n", "diff against an empty dataplane", diff,
              batch.size());
}

// The words of a `set` line as vpnctl sends them (quotes removed; the generated files quote
// only single words).
std::vector<std::string> Words(absl::string_view line) {
  std::vector<std::string> words;
  for (absl::string_view w : absl::StrSplit(line, ' ', absl::SkipEmpty())) {
    if (w.size() >= 2 && w.front() == '\'' && w.back() == '\'') w = w.substr(1, w.size() - 2);
    words.emplace_back(w);
  }
  return words;
}

// A configuration session that sets every line of `path` and commits.
double Session(vpnd::Vpnd& vpnd, const std::string& path) {
  auto opened = vpnd.sessions().Handle({vpnd::kRequestConfigure, "bench"});
  if (!opened.ok()) Die(std::string(opened.status().message()));
  const std::string token = opened->substr(0, opened->find(' '));
  std::ifstream in(path);
  std::string line;
  size_t lines = 0;
  double t = ThreadCpu();
  while (std::getline(in, line)) {
    std::vector<std::string> w = Words(line);
    if (w.empty() || w[0] != "set") continue;
    w.insert(w.begin(), {vpnd::kRequestSession, token});
    auto r = vpnd.sessions().Handle(w);
    if (!r.ok()) Die(absl::StrCat(line, ": ", r.status().message()));
    ++lines;
  }
  const double set = ThreadCpu() - t;
  t = ThreadCpu();
  auto cmp = vpnd.sessions().Handle({vpnd::kRequestSession, token, "compare"});
  if (!cmp.ok()) Die(std::string(cmp.status().message()));
  const double compare = ThreadCpu() - t;
  t = ThreadCpu();
  auto done = vpnd.sessions().Handle({vpnd::kRequestSession, token, "commit"});
  if (!done.ok()) Die(std::string(done.status().message()));
  const double commit = ThreadCpu() - t;
  std::printf("%-44s %10.3f s  (%zu lines)\n", "session: set every line", set, lines);
  std::printf("%-44s %10.3f s\n", "session: compare", compare);
  std::printf("%-44s %10.3f s\n", "session: commit (checks, plan, channel, ack)", commit);
  return commit;
}

}  // namespace

int main(int argc, char** argv) {
  const bool session = argc > 1 && std::string(argv[1]) == "--session";
  if (session) {
    --argc;
    ++argv;
  }
  if (argc < 2 || argc > 3 || (session && argc != 2)) {
    Die("usage: commit_bench FILE [FILE2] | --session FILE");
  }
  std::printf("commit of %s\n", argv[1]);
  Phases(argv[1]);

  // The whole commit through a real channel, as vpnd does it at start.
  const std::string channel = absl::StrCat("commit-bench-", getpid());
  auto server = dp::api::ChannelServer::Create(channel);
  if (!server.ok()) Die(std::string(server.status().message()));
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> messages{0};
  std::thread dataplane([&] {
    while (!stop) {
      if ((*server)->PollCommands(1024, [&](const dp::api::CommandBatch& b) {
            messages += b.messages.size();
            return dp::api::ApplyResult{};
          }) == 0) {
        usleep(20);
      }
    }
  });
  {
    auto client = dp::api::ChannelClient::Attach(channel, true);
    if (!client.ok()) Die(std::string(client.status().message()));
    vpnd::VpndLog log("", false);
    NullSink keys;
    auto clock = [] { return absl::Now(); };
    vpnd::DataplaneLink link(&*client, nullptr, absl::Seconds(60), clock, &log);
    vpnd::ChannelSaInstaller installer(link, clock, &log);
    vpnd::VpndDeps deps;
    deps.clock = clock;
    deps.log = &log;
    deps.keylog = &keys;
    deps.link = &link;
    deps.installer = &installer;
    vpnd::Vpnd vpnd(deps);
    if (session) {
      std::printf("commit_s=%.3f\n", Session(vpnd, argv[1]));
      stop = true;
      dataplane.join();
      return 0;
    }
    double t = ThreadCpu();
    absl::Time wall = absl::Now();
    absl::Status st = vpnd.LoadFile(argv[1]);
    const double whole = ThreadCpu() - t;
    const double whole_wall = absl::ToDoubleSeconds(absl::Now() - wall);
    if (!st.ok()) Die(std::string(st.message()));
    std::printf("%-44s %10.3f s  (%llu messages through the channel; %.3f s wall)\n",
                "whole commit (Vpnd::LoadFile, channel, ack)", whole,
                static_cast<unsigned long long>(messages.load()), whole_wall);
    double again = -1;
    if (argc == 3) {
      const uint64_t before = messages.load();
      t = ThreadCpu();
      st = vpnd.LoadFile(argv[2]);
      again = ThreadCpu() - t;
      if (!st.ok()) Die(std::string(st.message()));
      std::printf("%-44s %10.3f s  (%llu messages)\n", "then the second file (a diff)", again,
                  static_cast<unsigned long long>(messages.load() - before));
    }
    std::string tail = again >= 0 ? absl::StrFormat(" recommit_s=%.3f", again) : "";
    std::printf("commit_s=%.3f commit_wall_s=%.3f%s\n", whole, whole_wall, tail.c_str());
  }
  stop = true;
  dataplane.join();
  return 0;
}
