// The responder for INFORMATIONAL requests that carry only notifications (RFC 7296 1.4): each
// one is logged, and the response is empty. Deletes and liveness checks have tasks of their own
// (child_delete.cc, ike_delete.cc, dpd.cc).
#include "absl/strings/str_cat.h"
#include "ike/sa/ike_sa.h"

namespace portcullis::ike {

namespace {

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

std::unique_ptr<Task> NewInformationalTask() {
  return std::make_unique<InformationalTask>();
}

}  // namespace portcullis::ike
