#include "dataplane/mgmt/capture_telemetry.h"

#include <rte_telemetry.h>

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace portcullis::dp {

namespace {

MainLcore* g_main = nullptr;

void Reply(rte_tel_data* d, const CaptureStatus& st, const std::string& error = "") {
  rte_tel_data_start_dict(d);
  rte_tel_data_add_dict_string(d, "state", st.active ? "running" : "stopped");
  if (!error.empty()) rte_tel_data_add_dict_string(d, "error", error.c_str());
  rte_tel_data_add_dict_string(d, "port", st.port.c_str());
  rte_tel_data_add_dict_string(d, "file", st.file.c_str());
  rte_tel_data_add_dict_u64(d, "captured", st.captured);
  rte_tel_data_add_dict_u64(d, "dropped", st.dropped);
  rte_tel_data_add_dict_u64(d, "callbacks", st.callbacks);
}

int Capture(const char*, const char* params, rte_tel_data* d) {
  std::vector<std::string> w = absl::StrSplit(params ? params : "", ' ', absl::SkipWhitespace());
  std::lock_guard<std::mutex> lock(g_main->mu());
  PacketCapture& cap = g_main->capture();
  if (w.empty() || w[0] == "status") {
    Reply(d, cap.status());
    return 0;
  }
  if (w[0] == "stop") {
    auto st = cap.Stop();
    if (st.ok()) {
      Reply(d, *st);
    } else {
      Reply(d, cap.status(), std::string(st.status().message()));
    }
    return 0;
  }
  if (w[0] != "start" || w.size() < 2) {
    Reply(d, cap.status(), "usage: start TARGET [count N] [file PATH] [snaplen N] | stop | status");
    return 0;
  }
  CaptureRequest r;
  r.target = w[1];
  for (size_t i = 2; i < w.size(); i += 2) {
    if (i + 1 >= w.size()) {
      Reply(d, cap.status(), "'" + w[i] + "' needs a value");
      return 0;
    }
    bool ok = true;
    if (w[i] == "count") {
      ok = absl::SimpleAtoi(w[i + 1], &r.count);
    } else if (w[i] == "file") {
      r.file = w[i + 1];
    } else if (w[i] == "snaplen") {
      ok = absl::SimpleAtoi(w[i + 1], &r.snaplen);
    } else {
      ok = false;
    }
    if (!ok) {
      Reply(d, cap.status(), "bad argument '" + w[i] + " " + w[i + 1] + "'");
      return 0;
    }
  }
  auto file = cap.Start(r);
  Reply(d, cap.status(), file.ok() ? "" : std::string(file.status().message()));
  return 0;
}

}  // namespace

void RegisterCaptureTelemetry(MainLcore& main) {
  g_main = &main;
  rte_telemetry_register_cmd("/portcullis/capture", Capture,
                             "Packet capture. Params: start TARGET [count N] [file PATH] "
                             "[snaplen N] | stop | status");
}

}  // namespace portcullis::dp
