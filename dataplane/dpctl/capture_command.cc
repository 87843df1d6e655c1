#include "dataplane/dpctl/capture_command.h"

#include <limits.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/str_join.h"

namespace portcullis::dp::dpctl {

using api::JsonValue;

namespace {

void Print(const JsonValue& st, bool json) {
  if (json) {
    std::printf(
        "{\"state\": \"%s\", \"port\": \"%s\", \"file\": \"%s\", \"captured\": %llu, "
        "\"dropped\": %llu, \"callbacks\": %llu}\n",
        st.Str("state").c_str(), st.Str("port").c_str(), st.Str("file").c_str(),
        static_cast<unsigned long long>(st.U64("captured")),
        static_cast<unsigned long long>(st.U64("dropped")),
        static_cast<unsigned long long>(st.U64("callbacks")));
    return;
  }
  if (st.Str("port").empty()) {
    std::printf("capture: %s\n", st.Str("state").c_str());
    return;
  }
  std::printf("capture %s: port %s -> %s, %llu packets, %llu dropped\n", st.Str("state").c_str(),
              st.Str("port").c_str(), st.Str("file").c_str(),
              static_cast<unsigned long long>(st.U64("captured")),
              static_cast<unsigned long long>(st.U64("dropped")));
}

}  // namespace

int CaptureCommand(api::TelemetryClient& tel, const std::vector<std::string>& args_in, bool json) {
  std::vector<std::string> args = args_in;
  bool wait = false;
  if (auto it = std::find(args.begin(), args.end(), "--wait"); it != args.end()) {
    wait = true;
    args.erase(it);
  }
  if (args.empty() || (args[0] == "start" && args.size() < 2)) {
    std::fprintf(stderr,
                 "usage: dpctl capture start <port|interface> [count N] [file F] [snaplen N] "
                 "[--wait] | stop | status\n");
    return 2;
  }
  for (size_t i = 2; i + 1 < args.size(); ++i) {
    if (args[0] == "start" && args[i] == "file" && args[i + 1][0] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof cwd) != nullptr) args[i + 1] = std::string(cwd) + "/" + args[i + 1];
    }
  }
  auto st = tel.Query("/portcullis/capture," + absl::StrJoin(args, " "));
  if (!st.ok()) {
    std::fprintf(stderr, "dpctl: %s\n", std::string(st.status().message()).c_str());
    return 1;
  }
  if (!st->Str("error").empty()) {
    std::fprintf(stderr, "dpctl: capture: %s\n", st->Str("error").c_str());
    return 1;
  }
  if (wait && args[0] == "start") {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (st.ok() && st->Str("state") == "running") {
      if (std::chrono::steady_clock::now() > deadline) {
        st = tel.Query("/portcullis/capture,stop");
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      st = tel.Query("/portcullis/capture,status");
    }
    if (!st.ok()) {
      std::fprintf(stderr, "dpctl: %s\n", std::string(st.status().message()).c_str());
      return 1;
    }
  }
  Print(*st, json);
  return 0;
}

}  // namespace portcullis::dp::dpctl
