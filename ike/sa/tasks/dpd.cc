// Liveness checks (RFC 7296 1.4, 2.4): an empty INFORMATIONAL request answered by an empty
// response. A peer that does not answer is dead once the retransmissions run out, and IkeSa
// applies the dead-peer-detection action.
#include "ike/sa/ike_sa.h"

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

}  // namespace

std::unique_ptr<Task> NewDpdTask() {
  return std::make_unique<DpdTask>();
}

}  // namespace portcullis::ike
