// The hitless restart's way back to a task whose request was in flight when the previous process
// died (task.h InFlightExchange): the kind picks the task, the child config comes from today's
// configuration.
#include "ike/sa/ike_sa.h"
#include "ike/sa/task.h"

namespace portcullis::ike {

std::unique_ptr<Task> RestoreTask(IkeSa& sa, const InFlightExchange& x) {
  switch (x.kind) {
    case TaskKind::kChildCreate:
    case TaskKind::kChildRekey: {
      const ChildConfig* c = sa.FindChildConfig(x.child);
      if (c == nullptr) return nullptr;
      return x.kind == TaskKind::kChildCreate ? RestoreChildCreateTask(sa, x, *c)
                                              : RestoreChildRekeyTask(sa, x, *c);
    }
    case TaskKind::kIkeRekey:
      return RestoreIkeRekeyTask(sa, x);
    default:
      return nullptr;
  }
}

}  // namespace portcullis::ike
