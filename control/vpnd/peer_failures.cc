#include "control/vpnd/peer_failures.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace portcullis::vpnd {

namespace {

// The notify names a failure line carries, the most specific first (a NO_PROPOSAL_CHOSEN line
// may also quote an INVALID_KE_PAYLOAD retry).
constexpr absl::string_view kNotifies[] = {
    "AUTHENTICATION_FAILED", "TS_UNACCEPTABLE",          "NO_PROPOSAL_CHOSEN",
    "INVALID_KE_PAYLOAD",    "INVALID_MAJOR_VERSION",    "INVALID_IKE_SPI",
    "INVALID_SYNTAX",        "SINGLE_PAIR_REQUIRED",     "NO_ADDITIONAL_SAS",
    "FAILED_CP_REQUIRED",    "INTERNAL_ADDRESS_FAILURE",
};

// The text after `label` up to the first of `ends` (or the end).
std::string After(absl::string_view text, absl::string_view label, absl::string_view ends = ";(") {
  size_t at = text.find(label);
  if (at == absl::string_view::npos) return "";
  absl::string_view rest = text.substr(at + label.size());
  size_t end = rest.find_first_of(ends);
  if (end != absl::string_view::npos) rest = rest.substr(0, end);
  return std::string(absl::StripAsciiWhitespace(rest));
}

// The peer address a manager line names: "from 192.0.2.2[500]" or "for 192.0.2.1...192.0.2.2".
std::string AddressOf(absl::string_view text) {
  if (std::string a = After(text, " from ", "[ :,"); !a.empty()) return a;
  if (std::string pair = After(text, "...", " ,["); !pair.empty()) return pair;
  return "";
}

}  // namespace

std::optional<PeerFailure> PeerFailures::Classify(const ike::LogRecord& r) {
  const std::string& t = r.text;
  // The message dumps ("generating IKE_AUTH response 1 [ IDr AUTH N(TS_UNACCEPTABLE) ]") name
  // the notify too; the line that explains it is the failure.
  if (absl::StartsWith(t, "generating ") || absl::StartsWith(t, "parsed ")) return std::nullopt;
  PeerFailure f;
  f.time = r.time;
  f.conn = r.conn;
  f.text = t;
  f.phase2 = r.child || r.group == ike::LogGroup::kChd;
  for (absl::string_view n : kNotifies) {
    if (absl::StrContains(t, n)) {
      f.notify = std::string(n);
      break;
    }
  }
  if (f.notify.empty() && absl::StrContains(t, "IKE major version ")) {
    f.notify = "INVALID_MAJOR_VERSION";
  }
  if (f.notify.empty() && absl::StartsWith(t, "giving up after ")) f.notify = "TIMEOUT";
  if (f.notify.empty()) return std::nullopt;
  // Lines that only mention a notify in passing are not failures.
  if (absl::StrContains(t, "retrying with") || absl::StrContains(t, "requesting")) {
    return std::nullopt;
  }
  if (f.notify == "INVALID_MAJOR_VERSION") {
    f.offered = "IKEv2";
    f.received = absl::StrCat("IKEv", After(t, "IKE major version ", " "));
  } else if (f.notify == "INVALID_KE_PAYLOAD") {
    f.offered = After(t, "configured PFS group ", " (,;");
    if (f.offered.empty()) f.offered = After(t, "configured proposals: ");
    f.received = After(t, "peer requested DH group ", " ,;(");
  } else if (f.notify == "TS_UNACCEPTABLE") {
    f.received = After(t, "received ", ";");
    if (f.received.empty()) f.received = After(t, "the peer's selectors ", "(");
    f.offered = After(t, "configured ", ";");
    if (f.offered.empty()) f.offered = After(t, "not within ours ", "(");
    if (f.offered.empty()) f.offered = After(t, "traffic selectors for ", "(");
  } else {
    f.offered = After(t, "configured proposals: ");
    f.received = After(t, "received proposals: ");
    if (f.received.empty()) f.received = After(t, "selected a proposal we did not offer: ", ";");
  }
  return f;
}

namespace {

// One failure is logged as several lines (the explanation with both lists, then e.g. "destroying
// IKE_SA ...: NO_PROPOSAL_CHOSEN"): a later line of the same notify keeps the lists it lacks.
void Keep(std::map<std::string, PeerFailure>& m, const std::string& key, PeerFailure f) {
  auto it = m.find(key);
  if (it != m.end() && it->second.notify == f.notify && it->second.phase2 == f.phase2 &&
      f.time - it->second.time < absl::Seconds(5)) {
    if (f.offered.empty()) f.offered = it->second.offered;
    if (f.received.empty()) f.received = it->second.received;
    if (f.offered == it->second.offered && f.received == it->second.received) {
      f.text = it->second.text;
    }
  }
  m[key] = std::move(f);
}

}  // namespace

void PeerFailures::Write(const ike::LogRecord& r) {
  next_->Write(r);
  std::optional<PeerFailure> f = Classify(r);
  if (!f) return;
  if (!r.conn.empty()) {
    // A tunnel's failure is its peer's: "peer-X-tunnel-1" -> "peer-X".
    std::string peer = r.conn;
    if (size_t t = peer.find("-tunnel-"); t != std::string::npos) peer.resize(t);
    Keep(by_conn_, peer, *std::move(f));
  } else if (std::string a = AddressOf(r.text); !a.empty()) {
    Keep(by_address_, a, *std::move(f));
  }
}

std::optional<PeerFailure> PeerFailures::Last(const std::string& name,
                                              const std::string& address) const {
  std::optional<PeerFailure> out;
  if (auto it = by_conn_.find(name); it != by_conn_.end()) out = it->second;
  if (auto it = by_address_.find(address); !address.empty() && it != by_address_.end()) {
    if (!out || it->second.time > out->time) out = it->second;
  }
  return out;
}

void PeerFailures::Clear(const std::string& name) {
  by_conn_.erase(name);
}

}  // namespace portcullis::vpnd
