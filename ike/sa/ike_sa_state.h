// What a restarted vpnd needs to carry on with an established IKE SA and its CHILD SAs without
// the peer noticing (the hitless restart, #19; docs/DESIGN.md "Hitless restart"): SPIs, keys,
// message IDs, the request in flight and the last response, and each CHILD SA as IKE knows it.
// The dataplane keeps the ESP SAs themselves (with their sequence numbers and replay windows);
// it never held the IKE keys, so they are written here, as strongSwan's HA plugin syncs
// IKE_SA state to its partner. The text form is one line per IKE SA and per CHILD SA, hex for
// bytes; it holds secrets, so whoever writes it keeps it to its owner (0600).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/key_schedule.h"
#include "ike/encoding/ike_types.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/child_sa.h"
#include "ike/sa/endpoint.h"
#include "ike/sa/task.h"

namespace portcullis::ike {

struct IkeSaState {
  std::string config_name;
  bool original_initiator = false;
  IkeSpi spi_i{}, spi_r{};
  Endpoint local, remote;
  IkeSaCryptoSuite suite;
  IkeSaKeys keys;
  bool nat_local = false, nat_remote = false;
  std::optional<IdPayload> peer_id;
  // AES-GCM: where our sealing key's IVs stand (sk_cipher.h; 0 otherwise).
  uint32_t iv_prefix = 0, iv_counter = 0;
  uint32_t my_mid = 0;    // our next (or outstanding) request's ID
  uint32_t peer_mid = 0;  // the ID we expect on the peer's next request
  absl::Time established = absl::InfinitePast();
  absl::Time rekey_at = absl::InfiniteFuture();
  // The request in flight (its ID is my_mid): sent again after the restart, and its answer
  // taken without a task (the one that sent it died with the old process).
  std::optional<Datagram> request;
  // What the task that sent `request` needs to take its answer as its own, when that answer
  // changes state at the peer (a CREATE_CHILD_SA): the exchange is finished, not thrown away.
  std::optional<InFlightExchange> in_flight;
  // The last response and the request it answers: the peer may retransmit that request.
  std::optional<Datagram> response;
  uint32_t response_mid = 0;
  ExchangeType response_exchange = ExchangeType::kInformational;
  Bytes response_request;
  std::vector<std::unique_ptr<ChildSa>> children;
};

// A trap waiting for a tunnel's next packet (DPD action hold: the peer's IKE SA, `child` empty;
// close-action trap: one tunnel of an IKE SA that is up). Saved so that a restarted vpnd keeps
// the trap, and a policy-based tunnel its trap policies, instead of routing it in the clear.
struct IkeTrap {
  std::string peer;
  std::string child;
  bool operator==(const IkeTrap&) const = default;
};

// Whose state it is and when it was written: a restarted vpnd resumes only its own (the
// same dataplane channel) and only while the peers may still hold the SAs (IkeStateTooOld).
// A file without it (written before it existed) has `saved` InfinitePast and no origin.
struct IkeStateOrigin {
  absl::Time saved = absl::InfinitePast();
  std::string origin;  // vpnd: the dataplane channel's name
};

// One header line, the origin (when given), the SAs, the traps, and an `end` line with the SAs'
// count (a truncated file is refused).
std::string EncodeIkeState(const std::vector<IkeSaState>& sas,
                           const std::vector<IkeTrap>& traps = {},
                           const IkeStateOrigin* origin = nullptr);
// InvalidArgument naming the line for anything malformed: a restarted vpnd then starts over.
absl::StatusOr<std::vector<IkeSaState>> DecodeIkeState(absl::string_view text,
                                                       std::vector<IkeTrap>* traps = nullptr,
                                                       IkeStateOrigin* origin = nullptr);

}  // namespace portcullis::ike
