// One negotiated ESP CHILD SA pair (inbound and outbound SA) of an IKE SA, with the keys the
// dataplane needs. Owned by its IkeSa; moved to the new IkeSa when the IKE SA is rekeyed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "ike/crypto/crypto_suite.h"
#include "ike/crypto/secret_bytes.h"
#include "ike/encoding/payloads.h"
#include "ike/sa/endpoint.h"

namespace portcullis::ike {

struct ChildSa {
  enum class State {
    kInstalled,  // carrying traffic
    kRekeying,   // a CREATE_CHILD_SA for its successor is in flight
    kRekeyed,    // replaced by a successor; deleted once the Delete exchange ends
    kDeleting,   // a Delete for it is in flight
  };

  uint32_t unique_id = 0;  // {N} in logs
  std::string name;        // the child config: "peer-192.0.2.2-tunnel-vti"
  uint32_t tunnel_id = 0;
  bool vti = false;
  std::string vti_interface;
  uint32_t reqid = 0;
  State state = State::kInstalled;
  uint32_t spi_in = 0;   // ours: the peer sends with it
  uint32_t spi_out = 0;  // the peer's: we send with it
  ChildSaCryptoSuite suite;
  std::vector<TrafficSelector> local_ts, remote_ts;
  Endpoint local, remote;  // outer addresses (and ports, with UDP encapsulation)
  bool encap = false;      // RFC 3948 UDP encapsulation
  // The responder of a rekey installs the new SA's inbound half at once but sends with it only
  // once the initiator deleted the SA it replaces (`replaces`, our inbound SPI of it): by then
  // the initiator surely has the new inbound SA, so nothing we send is lost in between
  // (strongSwan does the same). Until then the old SA keeps sending.
  bool outbound_active = true;
  uint32_t replaces = 0;
  // The dataplane refused this SA while its rekey was in flight: if the rekey fails and the SA
  // stays, it carries nothing and must be deleted and created again (IkeSa::InstallFailed).
  std::string install_failure;
  // Keys, AES-GCM ones with their 4-byte salt at the end.
  SecretBytes encr_in, integ_in, encr_out, integ_out;
  absl::Time installed, rekey_at, expire_at;
  uint64_t life_bytes = 0, life_packets = 0;
  uint32_t replay_window = 1024;  // of the inbound SA, packets; 0 = anti-replay off
  // RFC 9611 per-resource CHILD SAs: 0 = not in a group (the dataplane places it, as always);
  // w + 1 = this end's SA pair for dataplane worker w, one of a group of CHILD SAs with the same
  // selectors that both ends agreed on with SA_RESOURCE_INFO. A rekey keeps it.
  uint8_t worker = 0;
};

// A CHILD SA's traffic as whoever holds its SAs last reported it (vpnd's SA installer, from the
// dataplane's counter events); IKE keeps no copy of its own.
struct ChildCounters {
  uint64_t bytes_in = 0, bytes_out = 0, packets_in = 0, packets_out = 0;
};

const char* ChildStateName(ChildSa::State s);

}  // namespace portcullis::ike
