// Liveness checks (RFC 7296 1.4, 2.4): an empty INFORMATIONAL request answered by an empty
// response. A peer that does not answer is dead once the retransmissions run out, and IkeSa
// applies the dead-peer-detection action. Also the responder for INFORMATIONAL messages that
// carry only notifications (logged).
#include "absl/strings/str_cat.h"
#include "ike/ike_sa.h"

namespace portcullis::ike {

namespace {

class DpdTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kDpd; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }
  bool BuildRequest(IkeSa& sa, std::vector<Payload>&) override {
    sa.Log(LogGroup::kIke, "sending DPD request");
    return true;
  }
  TaskOutcome ProcessResponse(IkeSa&, const std::vector<Payload>&) override {
    return TaskOutcome::kDone;
  }
  void ProcessRequest(IkeSa&, const std::vector<Payload>&, std::vector<Payload>&) override {}
};

class InformationalTask : public Task {
 public:
  TaskKind kind() const override { return TaskKind::kInformational; }
  ExchangeType exchange() const override { return ExchangeType::kInformational; }
  bool BuildRequest(IkeSa&, std::vector<Payload>&) override { return false; }
  TaskOutcome ProcessResponse(IkeSa&, const std::vector<Payload>&) override {
    return TaskOutcome::kDone;
  }
  void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in, std::vector<Payload>&) override {
    for (const Payload& p : in) {
      if (const auto* n = p.As<NotifyPayload>()) {
        sa.Log(LogGroup::kIke, absl::StrCat("received ", NotifyName(n->type),
                                            IsErrorNotify(n->type) ? " notify error" : " notify"));
      }
    }
  }
};

}  // namespace

std::unique_ptr<Task> NewDpdTask() {
  return std::make_unique<DpdTask>();
}

std::unique_ptr<Task> NewInformationalTask() {
  return std::make_unique<InformationalTask>();
}

}  // namespace portcullis::ike
