// dpctl: manual control of a vpn-dataplane, like `ip` for the kernel. Configuration commands go
// through the channel as one all-or-nothing batch; `show` reads the dataplane's telemetry.
//
//   dpctl --channel NAME <command ...>        one command (see command_parser.h)
//   dpctl --channel NAME batch FILE|-         one command per line, applied as one batch
//   dpctl --channel NAME show stats|drops|interfaces|interface NAME|sas|sa
//   SPI/DIR|routes|routes6|policies|
//                             channel|neighbors|ports|firewall [RULESET_ID]|workers [--json]
//   dpctl --channel NAME capture start <port|interface> [count N] [file F] | stop | status
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "dataplane/api/channel_client.h"
#include "dataplane/api/telemetry_client.h"
#include "dataplane/dpctl/capture_command.h"
#include "dataplane/dpctl/command_parser.h"

using namespace portcullis;
using namespace portcullis::dp::dpctl;
using portcullis::dp::api::JsonValue;
using portcullis::dp::api::TelemetryClient;

namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "dpctl: %s\n", msg.c_str());
  return 1;
}

std::string Render(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return v.boolean ? "true" : "false";
    case JsonValue::Type::kNumber:
      return absl::StrFormat("%.0f", v.number);
    case JsonValue::Type::kString:
      return "\"" + v.string + "\"";
    case JsonValue::Type::kArray: {
      std::string s = "[";
      for (size_t i = 0; i < v.array.size(); ++i) s += (i ? ", " : "") + Render(v.array[i]);
      return s + "]";
    }
    case JsonValue::Type::kObject: {
      std::string s = "{";
      for (size_t i = 0; i < v.object.size(); ++i)
        s += (i ? ", " : "") + ("\"" + v.object[i].first + "\": ") + Render(v.object[i].second);
      return s + "}";
    }
  }
  return "";
}

std::string Plain(const JsonValue& v) {
  return v.type == JsonValue::Type::kString ? v.string : Render(v);
}

void PrintDict(const JsonValue& d, int indent = 0) {
  for (const auto& [k, v] : d.object) {
    if (v.type == JsonValue::Type::kObject) {
      std::printf("%*s%s:\n", indent, "", k.c_str());
      if (v.object.empty()) std::printf("%*s(none)\n", indent + 2, "");
      PrintDict(v, indent + 2);
    } else {
      std::printf("%*s%-24s %s\n", indent, "", k.c_str(), Plain(v).c_str());
    }
  }
}

// Every interface's name, ifindex and kind, a page at a time (10,000 VTIs in 40 queries, not
// one query each; /portcullis/interfaces holds 512 names at most).
absl::Status ForEachInterface(
    TelemetryClient& tel,
    const std::function<void(const std::string&, uint32_t, const std::string&)>& f) {
  constexpr size_t kPage = 256;  // the dataplane's page (telemetry.cc)
  uint32_t next = 1;
  for (;;) {
    auto page = tel.Query(absl::StrCat("/portcullis/interface_indexes,", next));
    if (!page.ok()) return page.status();
    for (const JsonValue& e : page->array) {
      std::vector<std::string> w = absl::StrSplit(e.string, absl::MaxSplits(' ', 2));
      uint32_t ifindex = 0;
      if (w.size() != 3 || !absl::SimpleAtoi(w[0], &ifindex))
        return absl::DataLossError(absl::StrCat("bad interface entry '", e.string, "'"));
      f(w[2], ifindex, w[1]);
      next = ifindex + 1;
    }
    if (page->array.size() < kPage) return absl::OkStatus();
  }
}

absl::Status LoadDirectory(TelemetryClient& tel, InterfaceDirectory& dir) {
  return ForEachInterface(tel, [&](const std::string& name, uint32_t ifindex,
                                   const std::string& kind) { dir.Known(name, ifindex, kind); });
}

int Show(TelemetryClient& tel, const std::vector<std::string>& args, bool json) {
  if (args.empty())
    return Fail(
        "show what? "
        "stats|drops|interfaces|interface|sas|sa|routes|routes6|policies|channel|neighbors|"
        "ports|firewall|workers");
  const std::string& what = args[0];
  auto query = [&](const std::string& cmd) -> absl::StatusOr<JsonValue> { return tel.Query(cmd); };
  if (what == "interfaces") {
    std::vector<std::string> names;
    if (absl::Status s = ForEachInterface(tel, [&](const std::string& name, uint32_t,
                                                   const std::string&) { names.push_back(name); });
        !s.ok())
      return Fail(std::string(s.message()));
    if (!json)
      std::printf("%-12s %-9s %-5s %6s %-22s %12s %12s %8s\n", "interface", "kind", "state", "mtu",
                  "addresses", "rx packets", "tx packets", "drops");
    for (const std::string& name : names) {
      auto f = query("/portcullis/interface," + name);
      if (!f.ok()) continue;
      if (json) {
        std::printf("%s\n", Render(*f).c_str());
        continue;
      }
      uint64_t drops = 0;
      if (const JsonValue* d = f->Get("drops"))
        for (const auto& [k, v] : d->object) drops += static_cast<uint64_t>(v.number);
      std::printf("%-12s %-9s %-5s %6llu %-22s %12llu %12llu %8llu\n", name.c_str(),
                  f->Str("kind").c_str(), f->Str("state").c_str(),
                  static_cast<unsigned long long>(f->U64("mtu")), f->Str("addresses").c_str(),
                  static_cast<unsigned long long>(f->U64("rx_packets")),
                  static_cast<unsigned long long>(f->U64("tx_packets")),
                  static_cast<unsigned long long>(drops));
    }
    return 0;
  }
  if (what == "sas") {
    auto ids = query("/portcullis/sas");
    if (!ids.ok()) return Fail(std::string(ids.status().message()));
    if (!json)
      std::printf("%-8s %-4s %-12s %-16s %6s %12s %14s %8s\n", "spi", "dir", "cipher", "auth",
                  "worker", "packets", "bytes", "drops");
    for (const JsonValue& id : ids->array) {
      auto s = query("/portcullis/sa," + id.string);
      if (!s.ok()) continue;
      if (json) {
        std::printf("%s\n", Render(*s).c_str());
        continue;
      }
      uint64_t drops = 0;
      if (const JsonValue* d = s->Get("drops"))
        for (const auto& [k, v] : d->object) drops += static_cast<uint64_t>(v.number);
      // The owner; "=" marks one installed for that worker (a group's member).
      const std::string worker =
          absl::StrCat(s->U64("owner_worker"), s->U64("worker_named") ? "=" : "");
      std::printf("%-8s %-4s %-12s %-16s %6s %12llu %14llu %8llu\n", s->Str("spi").c_str(),
                  s->Str("direction").c_str(), s->Str("cipher").c_str(), s->Str("auth").c_str(),
                  worker.c_str(), static_cast<unsigned long long>(s->U64("packets")),
                  static_cast<unsigned long long>(s->U64("bytes")),
                  static_cast<unsigned long long>(drops));
    }
    return 0;
  }
  if (what == "firewall") {
    // One ruleset, every rule (paged by the dataplane 100 at a time), or the totals and a line
    // per ruleset.
    auto ruleset = [&](const std::string& id, bool rules) -> int {
      std::string from = "0";
      bool first = true;
      do {
        auto r = query("/portcullis/firewall_ruleset," + id + "/" + from);
        if (!r.ok()) return Fail(std::string(r.status().message()));
        if (json) {
          std::printf("%s\n", Render(*r).c_str());
        } else if (first) {
          std::printf("ruleset %s %s: default %s, %llu packets %llu bytes\n", id.c_str(),
                      r->Str("name").c_str(), r->Str("default_action").c_str(),
                      static_cast<unsigned long long>(r->U64("default_packets")),
                      static_cast<unsigned long long>(r->U64("default_bytes")));
          if (rules)
            std::printf("  %6s %14s %16s %12s\n", "rule", "packets", "bytes", "suppressed");
        }
        first = false;
        const JsonValue* n = r->Get("numbers");
        const JsonValue* p = r->Get("packets");
        const JsonValue* b = r->Get("bytes");
        const JsonValue* s = r->Get("suppressed");
        if (rules && !json && n && p && b && s)
          for (size_t i = 0; i < n->array.size(); ++i)
            std::printf("  %6s %14s %16s %12s\n", Plain(n->array[i]).c_str(),
                        Plain(p->array[i]).c_str(), Plain(b->array[i]).c_str(),
                        Plain(s->array[i]).c_str());
        from = std::to_string(r->U64("next"));
      } while (rules && from != "0");
      return 0;
    };
    if (args.size() == 2) return ruleset(args[1], true);
    auto v = query("/portcullis/firewall");
    if (!v.ok()) return Fail(std::string(v.status().message()));
    if (json) {
      std::printf("%s\n", Render(*v).c_str());
      return 0;
    }
    for (const char* k : {"sessions_active", "sessions_max", "sessions_created", "sessions_expired",
                          "sessions_table_full", "log_sent", "log_suppressed", "log_lost"})
      std::printf("%-22s %llu\n", k, static_cast<unsigned long long>(v->U64(k)));
    if (const JsonValue* ids = v->Get("rulesets"))
      for (const JsonValue& id : ids->array)
        if (int rc = ruleset(Plain(id), false); rc != 0) return rc;
    return 0;
  }
  if (what == "workers") {
    auto v = query("/portcullis/workers");
    if (!v.ok()) return Fail(std::string(v.status().message()));
    if (json) {
      std::printf("%s\n", Render(*v).c_str());
      return 0;
    }
    // One row per worker: the dataplane answers with one array per counter.
    static constexpr const char* kColumns[] = {
        "sas_owned",  "rx_packets",       "tx_packets",
        "handed_off", "handoff_received", "handoff_queue_full",
        "drops",      "max_poll_gap_us",  "max_poll_gap_ago_ms"};
    // rx/tx: the worker's interface counters summed, as `show stats` sums them (a route-based
    // tunnel's packet counts on its VTI and on the port). Poll gap: the longest time between
    // two of its polls, in microseconds, and how many milliseconds ago it ended.
    std::printf("%-6s %9s %14s %14s %12s %12s %10s %10s %10s %10s\n", "worker", "sas", "if rx sum",
                "if tx sum", "handed off", "handoff in", "ring full", "drops", "gap us",
                "gap ago ms");
    for (uint64_t w = 0; w < v->U64("workers"); ++w) {
      std::printf("%-6llu", static_cast<unsigned long long>(w));
      int k = 0;
      for (const char* c : kColumns) {
        const JsonValue* a = v->Get(c);
        const int width = k == 0 ? 9 : k <= 2 ? 14 : k <= 4 ? 12 : 10;
        std::printf(" %*s", width, a && w < a->array.size() ? Plain(a->array[w]).c_str() : "-");
        ++k;
      }
      std::printf("\n");
    }
    return 0;
  }
  std::string cmd;
  if (what == "stats" || what == "drops") {
    cmd = "/portcullis/stats";
  } else if (what == "interface" && args.size() == 2) {
    cmd = "/portcullis/interface," + args[1];
  } else if (what == "sa" && args.size() == 2) {
    cmd = "/portcullis/sa," + args[1];
  } else if (what == "routes" || what == "routes6" || what == "neighbors" || what == "ports" ||
             what == "policies" || what == "channel" || what == "vrrp") {
    cmd = "/portcullis/" + what;
  } else {
    return Fail("show: unknown object (or missing name)");
  }
  auto v = query(cmd);
  if (!v.ok()) return Fail(std::string(v.status().message()));
  if (json) {
    std::printf("%s\n", Render(*v).c_str());
  } else if (what == "drops") {
    if (const JsonValue* d = v->Get("drops")) {
      if (d->object.empty()) std::printf("no drops\n");
      for (const auto& [k, n] : d->object) std::printf("%-28s %s\n", k.c_str(), Plain(n).c_str());
    }
  } else if (v->type == JsonValue::Type::kArray) {
    for (const JsonValue& line : v->array) std::printf("%s\n", Plain(line).c_str());
  } else {
    PrintDict(*v);
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string channel, telemetry;
  bool json = false;
  std::vector<std::string> words;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--channel" && i + 1 < argc) {
      channel = argv[++i];
    } else if (a.rfind("--channel=", 0) == 0) {
      channel = a.substr(10);
    } else if (a == "--telemetry" && i + 1 < argc) {
      telemetry = argv[++i];
    } else if (a == "--json") {
      json = true;
    } else {
      words.push_back(a);
    }
  }
  if (channel.empty() || words.empty()) {
    std::fprintf(stderr, "usage: dpctl --channel NAME <command>|batch FILE|show ... [--json]\n");
    return 2;
  }
  if (telemetry.empty()) telemetry = TelemetryClient::DefaultPath(channel);
  auto tel = TelemetryClient::Connect(telemetry);
  if (!tel.ok()) return Fail(std::string(tel.status().message()));
  if (words[0] == "show") return Show(*tel, {words.begin() + 1, words.end()}, json);
  if (words[0] == "capture") return CaptureCommand(*tel, {words.begin() + 1, words.end()}, json);

  InterfaceDirectory dir;
  if (auto s = LoadDirectory(*tel, dir); !s.ok()) return Fail(std::string(s.message()));
  std::vector<dp::api::Message> batch;
  if (words[0] == "batch") {
    if (words.size() != 2) return Fail("batch FILE|-");
    std::stringstream text;
    if (words[1] == "-") {
      text << std::cin.rdbuf();
    } else {
      std::ifstream in(words[1]);
      if (!in) return Fail("cannot read " + words[1]);
      text << in.rdbuf();
    }
    int line_no = 0;
    for (std::string line; std::getline(text, line);) {
      ++line_no;
      absl::string_view l = absl::StripAsciiWhitespace(line);
      if (l.empty() || l[0] == '#') continue;
      std::vector<std::string> w = absl::StrSplit(l, ' ', absl::SkipEmpty());
      if (auto s = ParseCommand(w, dir, batch); !s.ok())
        return Fail(absl::StrFormat("line %d: %s", line_no, s.message()));
    }
  } else if (auto s = ParseCommand(words, dir, batch); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  if (batch.empty()) return 0;
  auto client = dp::api::ChannelClient::Attach(channel, /*primary=*/false);
  if (!client.ok()) return Fail(std::string(client.status().message()));
  auto seq = client->SendBatch(absl::MakeSpan(batch));
  if (!seq.ok()) return Fail(std::string(seq.status().message()));
  // A batch against large tables takes a while (about 2 s at a million routes: the applier
  // stages it against a copy of the whole configuration); a busy machine adds to it.
  absl::Status ack = client->WaitAck(*seq, absl::Seconds(60));
  if (!ack.ok()) return Fail(std::string(ack.message()));
  std::printf("ok: %zu message%s applied\n", batch.size(), batch.size() == 1 ? "" : "s");
  return 0;
}
