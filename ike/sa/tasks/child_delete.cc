// INFORMATIONAL Delete of CHILD SAs (RFC 7296 1.4.1): the Delete payload lists inbound SPIs;
// the responder removes the matching SAs and answers with its own inbound SPIs of them.
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ike/sa/child_negotiation.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

class ChildDeleteTask : public Task {
 public:
  explicit ChildDeleteTask(std::vector<uint32_t> spis) : spis_(std::move(spis)) {}
  TaskKind kind() const override { return TaskKind::kChildDelete; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    DeletePayload d;
    d.protocol = ProtocolId::kEsp;
    for (uint32_t spi : spis_) {
      ChildSa* c = sa.FindChildBySpiIn(spi);
      if (c == nullptr) continue;
      c->state = ChildSa::State::kDeleting;
      sa.LogChild(*c, LogGroup::kChd,
                  absl::StrFormat("sending DELETE for ESP CHILD_SA with SPI %08x", spi));
      d.spis.push_back(spi);
    }
    spis_ = d.spis;
    if (d.spis.empty()) return false;
    out.push_back(Payload{PayloadType::kDelete, d});
    return true;
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>&) override {
    for (uint32_t spi : spis_) sa.RemoveChild(spi, "deleted");
    return TaskOutcome::kDone;
  }

  void Timeout(IkeSa& sa) override {
    for (uint32_t spi : spis_) sa.RemoveChild(spi, "delete not answered");
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    DeletePayload answer;
    answer.protocol = ProtocolId::kEsp;
    std::vector<uint32_t> remove;
    for (const Payload& p : in) {
      const auto* d = p.As<DeletePayload>();
      if (d == nullptr || d->protocol != ProtocolId::kEsp) continue;
      for (uint32_t spi : d->spis) {
        ChildSa* c = sa.FindChildBySpiOut(spi);
        if (c == nullptr) {
          sa.Log(LogGroup::kChd,
                 absl::StrFormat("received DELETE for unknown ESP CHILD_SA with SPI %08x", spi));
          continue;
        }
        sa.LogChild(*c, LogGroup::kChd,
                    absl::StrFormat("received DELETE for ESP CHILD_SA with SPI %08x", spi));
        // RFC 7296 1.4.1: when our own Delete for this SA crossed the peer's, the answer must
        // not list it (the peer removes it when our request reaches it, not from this answer).
        if (c->state != ChildSa::State::kDeleting) answer.spis.push_back(c->spi_in);
        remove.push_back(c->spi_in);
      }
    }
    std::vector<std::string> closed, members;
    for (uint32_t spi : remove) {
      ChildSa* c = sa.FindChildBySpiIn(spi);
      if (c != nullptr && c->state == ChildSa::State::kInstalled) {
        closed.push_back(c->name);
        // A member that lived less than the re-initiation delay is not asked for again here:
        // a refused install deletes at once and re-creates after that delay itself, and a peer
        // asking again at once would make a create/delete loop at round-trip speed.
        if (c->worker != 0 && sa.ctx().Now() - c->installed >= sa.ctx().ReinitiateDelay())
          members.push_back(c->name);
      }
      sa.RemoveChild(spi, "deleted by the peer");
    }
    if (!answer.spis.empty()) out.push_back(Payload{PayloadType::kDelete, answer});
    RecreateMembers(sa, members);
    // close-action restart: a tunnel the peer closed (its last CHILD SA gone, not replaced by a
    // rekey) is set up again; close-action trap: on its next packet (IkeManager::Acquire).
    const CloseAction action = sa.config().close_action;
    if (action != CloseAction::kRestart && action != CloseAction::kHold) return;
    for (const std::string& name : closed) {
      bool left = false;
      for (const auto& c : sa.children()) left |= c->name == name;
      const ChildConfig* cfg = sa.FindChildConfig(name);
      if (left || cfg == nullptr) continue;
      if (action == CloseAction::kHold) {
        if (sa.ctx().TrapChild(sa, *cfg)) {
          sa.Log(LogGroup::kChd, absl::StrCat("the peer closed CHILD_SA ", name,
                                              ", close-action trap: created again on its next "
                                              "packet"));
          continue;
        }
        // No acquires for it (no dataplane): emulated as start.
        sa.Log(LogGroup::kChd, absl::StrCat("the peer closed CHILD_SA ", name,
                                            ", close-action trap (emulated, no acquires for it): "
                                            "creating it again"));
        sa.CreateChild(*cfg);
        continue;
      }
      sa.Log(LogGroup::kChd, absl::StrCat("the peer closed CHILD_SA ", name,
                                          ", close-action restart: creating it again"));
      sa.CreateChild(*cfg);
    }
  }

 private:
  // RFC 9611: a member of a per-worker group the peer deleted (its hard lifetime, an
  // inactivity timeout) while others of its tunnel stay: its worker would hand the tunnel's
  // packets to the fallback's owner until the IKE SA is set up again. One more CHILD SA is
  // asked for (CREATE_CHILD_SA with SA_RESOURCE_INFO, as the group grew), for the lowest
  // worker without one; a peer with fewer workers answers TS_MAX_QUEUE, one with a single
  // worker without the notify (the extra SA is then deleted: child_negotiation.cc). A tunnel
  // that lost every SA is the close action's (above).
  static void RecreateMembers(IkeSa& sa, std::vector<std::string>& names) {
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    for (const std::string& name : names) {
      bool left = false;
      for (const auto& c : sa.children()) left |= c->name == name;
      const ChildConfig* cfg = sa.FindChildConfig(name);
      if (!left || cfg == nullptr) continue;
      const int worker = FreeWorker(sa, *cfg);
      if (worker < 0) continue;
      sa.Log(LogGroup::kChd, absl::StrCat("the peer deleted a CHILD_SA of ", name,
                                          "'s per-worker group (RFC 9611): ",
                                          "asking for one for worker ", worker, " again"));
      sa.Queue(NewChildMemberTask(*cfg, worker));
    }
  }

  std::vector<uint32_t> spis_;
};

}  // namespace

std::unique_ptr<Task> NewChildDeleteTask(std::vector<uint32_t> spis_in) {
  return std::make_unique<ChildDeleteTask>(std::move(spis_in));
}

}  // namespace portcullis::ike
