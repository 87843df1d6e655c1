// CREATE_CHILD_SA for a new CHILD SA (RFC 7296 1.3.1), with a KE when the ESP group has PFS.
#include "absl/strings/str_cat.h"
#include "ike/sa/child_negotiation.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

class ChildCreateTask : public Task {
 public:
  explicit ChildCreateTask(const ChildConfig* config, int member = -1) : member_(member) {
    if (config != nullptr) req_.config = *config;
  }
  // Restored after a restart with its request in flight.
  bool Restore(IkeSa& sa, const InFlightExchange& x, const ChildConfig& config) {
    return RestoreChildRequest(sa, x, config, req_);
  }
  TaskKind kind() const override { return TaskKind::kChildCreate; }
  ExchangeType exchange() const override { return ExchangeType::kCreateChildSa; }

  bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) override {
    if (sa.FindChildConfig(req_.config.name) == nullptr) return false;  // config went away
    // RFC 9611: offered as its group's SA for the lowest worker without one (the first SA of a
    // tunnel: worker 0). A member task whose worker got one meanwhile takes the next free one,
    // and has nothing to do when none is left.
    req_.worker = FreeWorker(sa, req_.config);
    if (member_ >= 0 && req_.worker < 0) return false;
    // A tunnel whose group has an SA on every worker needs nothing more: a re-creation
    // planned when one went (a refused install) that the peer has re-created meanwhile (it
    // asks again at once when a member is deleted) would be a duplicate.
    if (req_.worker < 0 && OffersGroup(sa, req_.config)) {
      sa.Log(LogGroup::kChd, absl::StrCat("CHILD_SA ", req_.config.name,
                                          " has an SA on every worker already: not created again"));
      return false;
    }
    if (!req_.AllocateSpi(sa)) return false;
    req_.group = req_.config.pfs;
    req_.tsi = req_.config.local_ts;
    req_.tsr = req_.config.remote_ts;
    sa.Log(LogGroup::kChd, absl::StrCat("establishing CHILD_SA ", req_.config.name,
                                        member_ >= 0 ? absl::StrCat(" for worker ", req_.worker,
                                                                    " (per-worker group, RFC 9611)")
                                                     : ""));
    return AppendChildRequest(sa, req_, /*ike_auth=*/false, out);
  }

  TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) override {
    ChildSa* c = nullptr;
    return ProcessChildResponse(sa, req_, false, in, &c) == ChildResult::kRetry
               ? TaskOutcome::kRetry
               : TaskOutcome::kDone;
  }

  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                      std::vector<Payload>& out) override {
    RespondChild(sa, in, out, /*ike_auth=*/false, nullptr);
  }

  std::optional<InFlightExchange> SaveInFlight() const override {
    InFlightExchange x;
    x.kind = TaskKind::kChildCreate;
    if (req_.spi_in == 0 || !SaveChildRequest(req_, x)) return std::nullopt;
    return x;
  }

 private:
  ChildRequest req_;
  int member_ = -1;  // NewChildMemberTask's worker
};

}  // namespace

std::unique_ptr<Task> NewChildCreateTask(const ChildConfig* config) {
  return std::make_unique<ChildCreateTask>(config);
}

std::unique_ptr<Task> NewChildMemberTask(const ChildConfig& config, int worker) {
  return std::make_unique<ChildCreateTask>(&config, worker);
}

std::unique_ptr<Task> RestoreChildCreateTask(IkeSa& sa, const InFlightExchange& x,
                                             const ChildConfig& config) {
  auto t = std::make_unique<ChildCreateTask>(nullptr);
  if (!t->Restore(sa, x, config)) return nullptr;
  return t;
}

}  // namespace portcullis::ike
