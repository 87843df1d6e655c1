// `diagnose vpn peer X`: the seeds' troubleshooting checklist, walked for one peer, with a
// verdict per step:
//   a  our firewall's treatment of UDP 500/4500 and ESP from the peer (not enforced yet: said so)
//   b  reachability: a route to the peer and its next hop's neighbour entry
//   c  phase 1: the IKE SA, or the last failure with what we offered and what the peer sent
//   d  phase 2: each tunnel's CHILD SA with its selectors
//   e  counters growing in one direction only (asymmetric routing), from two samples
//   f  lifetimes and PFS against what the peer proposed
//   g  CBC in use (throughput: GCM)
//   h  per-packet firewall logging (throughput; not applicable until the firewall exists)
// Gathered once into a report, rendered as text or JSON like the show views. Only FAIL fails:
// N/A and HINT do not.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "control/config/model.h"
#include "control/vpnd/control_protocol.h"
#include "control/vpnd/peer_failures.h"
#include "control/vpnd/reachability.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

enum class Verdict { kPass, kFail, kHint, kNotApplicable };
const char* VerdictName(Verdict v);  // PASS, FAIL, HINT, N/A

struct DiagnoseStep {
  char id = 'a';
  std::string title;
  Verdict verdict = Verdict::kPass;
  std::vector<std::string> details;
};

struct DiagnoseReport {
  std::string peer;     // the connection name
  std::string address;  // "" for a peer without one
  std::vector<DiagnoseStep> steps;
  int failed() const;
  const DiagnoseStep* first_failure() const;
};

// Traffic counters of a peer's CHILD SAs at one moment, by CHILD SA id: what step e compares.
struct CounterSample {
  absl::Time time;
  std::map<uint32_t, std::pair<uint64_t, uint64_t>> bytes;  // id -> (in, out)
};

struct DiagnoseInputs {
  const ike::IkeManager* ike = nullptr;
  const ike::IkeSaConfig* peer = nullptr;
  const config::Model* model = nullptr;  // the running configuration; may be null
  absl::Time now;
  std::optional<PeerFailure> failure;
  // Step b: the tables' answer, or why they could not be read.
  std::optional<Reachability> reach;
  std::string reach_error;
  bool have_dataplane = false;           // counters exist only with one
  std::optional<CounterSample> earlier;  // the previous sample of this peer
};

DiagnoseReport Diagnose(const DiagnoseInputs& in);
// The peer's counters now (step e's second sample, and the next call's first).
CounterSample SampleCounters(const ike::IkeManager& m, const ike::IkeSaConfig& peer,
                             absl::Time now);

std::string DiagnoseText(const DiagnoseReport& r);
std::string DiagnoseJson(const DiagnoseReport& r);

}  // namespace portcullis::vpnd
