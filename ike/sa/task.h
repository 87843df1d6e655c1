// The task model (as strongSwan's): an IKE SA works through a queue of tasks, one per exchange.
// A task instance acts either as the initiator of its exchange (BuildRequest, then
// ProcessResponse) or as its responder (ProcessRequest builds the response); IkeSa takes care of
// message IDs, encryption, retransmission and the response cache around them.
#pragma once

#include <memory>
#include <vector>

#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/child_sa.h"

namespace portcullis::ike {

class IkeSa;
struct ChildConfig;

enum class TaskKind {
  kIkeInit,
  kIkeAuth,
  kChildCreate,
  kChildRekey,
  kChildDelete,
  kIkeDelete,
  kIkeRekey,
  kDpd,
  kInformational,
};
const char* TaskKindName(TaskKind k);

enum class TaskOutcome {
  kDone,   // exchange complete (successfully or with a failure that leaves the IKE SA up)
  kRetry,  // send a rebuilt request: IKE_SA_INIT with the same message ID, else a new one
  kFatal,  // the IKE SA cannot go on: destroy it
};

class Task {
 public:
  virtual ~Task() = default;
  virtual TaskKind kind() const = 0;
  virtual ExchangeType exchange() const = 0;

  // Initiator.
  virtual bool BuildRequest(IkeSa& sa, std::vector<Payload>& out) = 0;  // false: abandon task
  virtual TaskOutcome ProcessResponse(IkeSa& sa, const std::vector<Payload>& in) = 0;
  // Called when the peer never answered (retransmissions exhausted).
  virtual void Timeout(IkeSa&) {}
  // Called when a queued task is discarded unstarted (the IKE SA can no longer run it).
  virtual void Dropped(IkeSa&) {}

  // Responder: `in` is the request, `out` the response to build.
  virtual void ProcessRequest(IkeSa& sa, const std::vector<Payload>& in,
                              std::vector<Payload>& out) = 0;
  // Responder, after the response went out.
  virtual void AfterResponse(IkeSa&) {}
};

// Factories (one file per task in sa/tasks/: ike_init.cc, ike_auth.cc, child_create.cc,
// child_rekey.cc, child_delete.cc, ike_delete.cc, ike_rekey.cc, dpd.cc, informational.cc).
std::unique_ptr<Task> NewIkeInitTask();
std::unique_ptr<Task> NewIkeAuthTask();
// A new CHILD SA for `config` (a copy is kept).
std::unique_ptr<Task> NewChildCreateTask(const ChildConfig* config);
// Rekey of our CHILD SA with inbound SPI `spi_in`; responder instances take nullptr config.
std::unique_ptr<Task> NewChildRekeyTask(uint32_t spi_in);
std::unique_ptr<Task> NewChildDeleteTask(std::vector<uint32_t> spis_in);
std::unique_ptr<Task> NewIkeDeleteTask();
std::unique_ptr<Task> NewIkeRekeyTask();
std::unique_ptr<Task> NewDpdTask();
// Responder for an INFORMATIONAL with only notifications.
std::unique_ptr<Task> NewInformationalTask();

// Helpers shared by tasks.
const NotifyPayload* FindNotify(const std::vector<Payload>& in, NotifyType type);
// The first error notification, if any.
const NotifyPayload* FirstErrorNotify(const std::vector<Payload>& in);
Payload MakeNotify(NotifyType type, Bytes data = {}, ProtocolId protocol = ProtocolId::kNone,
                   Bytes spi = {});
template <typename T>
const T* FindPayload(const std::vector<Payload>& in, PayloadType type) {
  for (const Payload& p : in) {
    if (p.type == type) return p.As<T>();
  }
  return nullptr;
}

}  // namespace portcullis::ike
