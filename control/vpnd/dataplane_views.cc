#include "control/vpnd/dataplane_views.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "control/vpnd/json_writer.h"

namespace portcullis::vpnd {

namespace {

bool KindWanted(const std::string& kind, const std::string& word) {
  if (word.empty()) return true;
  if (word == "dataplane") return kind == "port";
  if (word == "bonding") return kind == "bond" || kind == "vif";
  return kind == word;  // vti, vfp
}

std::string RTrim(std::string s) {
  while (!s.empty() && s.back() == ' ') s.pop_back();
  return s;
}

}  // namespace

absl::StatusOr<std::vector<InterfaceRow>> GatherInterfaces(DataplaneTelemetry& t,
                                                           const config::Model* model,
                                                           const std::string& kind_word) {
  absl::StatusOr<std::vector<JsonValue>> names = t.Query({"/portcullis/interfaces"});
  if (!names.ok()) return names.status();
  std::vector<std::string> commands;
  for (const JsonValue& n : (*names)[0].array) {
    commands.push_back("/portcullis/interface," + n.string);
  }
  absl::StatusOr<std::vector<JsonValue>> ifs = t.Query(commands);
  if (!ifs.ok()) return ifs.status();
  std::vector<InterfaceRow> out;
  for (const JsonValue& f : *ifs) {
    InterfaceRow r;
    r.name = f.Str("name");
    r.kind = f.Str("kind");
    if (!KindWanted(r.kind, kind_word)) continue;
    for (absl::string_view a : absl::StrSplit(f.Str("addresses"), ' ', absl::SkipEmpty())) {
      r.addresses.emplace_back(a);
    }
    r.up = f.Str("state") == "up";
    r.rx_packets = f.U64("rx_packets");
    r.tx_packets = f.U64("tx_packets");
    if (model != nullptr) {
      if (auto it = model->interfaces.find(r.name); it != model->interfaces.end()) {
        r.description = it->second.description;
      }
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::string InterfacesText(const std::vector<InterfaceRow>& rows) {
  std::string out =
      "Codes: S - State, L - Link, u - Up, D - Down, A - Admin Down\n"
      "Interface        IP Address                        S/L  Description\n"
      "---------        ----------                        ---  -----------\n";
  for (const InterfaceRow& r : rows) {
    // The dataplane reports one state: an interface it holds up has its link up too.
    std::string sl = r.up ? "u/u" : "u/D";
    std::string first = r.addresses.empty() ? "-" : r.addresses[0];
    absl::StrAppend(&out,
                    RTrim(absl::StrFormat("%-16s %-33s %-4s %s", r.name, first, sl, r.description)),
                    "\n");
    for (size_t i = 1; i < r.addresses.size(); ++i) {
      absl::StrAppend(&out, RTrim(absl::StrFormat("%-16s %s", "", r.addresses[i])), "\n");
    }
  }
  return out;
}

std::string InterfacesJson(const std::vector<InterfaceRow>& rows) {
  JsonWriter j;
  j.BeginArray();
  for (const InterfaceRow& r : rows) {
    j.BeginObject().Field("interface", r.name).Field("kind", r.kind);
    j.Key("addresses").BeginArray();
    for (const std::string& a : r.addresses) j.String(a);
    j.EndArray()
        .Field("state", std::string(r.up ? "up" : "down"))
        .Field("description", r.description)
        .Field("rx_packets", r.rx_packets)
        .Field("tx_packets", r.tx_packets)
        .EndObject();
  }
  j.EndArray();
  return j.str() + "\n";
}

absl::StatusOr<std::vector<DropRow>> GatherDrops(DataplaneTelemetry& t) {
  absl::StatusOr<std::vector<JsonValue>> base =
      t.Query({"/portcullis/stats", "/portcullis/interfaces"});
  if (!base.ok()) return base.status();
  std::vector<DropRow> out;
  if (const JsonValue* d = (*base)[0].Get("drops")) {
    for (const auto& [reason, v] : d->object) {
      out.push_back({"", reason, static_cast<uint64_t>(v.number)});
    }
  }
  std::vector<std::string> commands;
  for (const JsonValue& n : (*base)[1].array) {
    commands.push_back("/portcullis/interface," + n.string);
  }
  absl::StatusOr<std::vector<JsonValue>> ifs = t.Query(commands);
  if (!ifs.ok()) return ifs.status();
  for (const JsonValue& f : *ifs) {
    if (const JsonValue* d = f.Get("drops")) {
      for (const auto& [reason, v] : d->object) {
        out.push_back({f.Str("name"), reason, static_cast<uint64_t>(v.number)});
      }
    }
  }
  return out;
}

std::string DropsText(const std::vector<DropRow>& rows) {
  std::string out =
      "Interface        Reason                            Packets\n"
      "---------        ------                            -------\n";
  for (const DropRow& r : rows) {
    absl::StrAppendFormat(&out, "%-16s %-33s %u\n", r.interface.empty() ? "total" : r.interface,
                          r.reason, r.packets);
  }
  if (rows.empty()) out += "(no packet dropped)\n";
  return out;
}

std::string DropsJson(const std::vector<DropRow>& rows) {
  JsonWriter j;
  j.BeginArray();
  for (const DropRow& r : rows) {
    j.BeginObject()
        .Field("interface", r.interface.empty() ? std::string("total") : r.interface)
        .Field("reason", r.reason)
        .Field("packets", r.packets)
        .EndObject();
  }
  j.EndArray();
  return j.str() + "\n";
}

}  // namespace portcullis::vpnd
