// --wireshark-keys DIR: Wireshark's decryption tables for every IKE SA and CHILD SA vpnd makes,
// so a capture of the appliance's traffic decrypts in Wireshark or tshark with nothing else:
//   DIR/esp_sa                  ESP SAs (Preferences > Protocols > ESP > ESP SAs)
//   DIR/ikev2_decryption_table  IKE SAs (Protocols > ISAKMP > IKEv2 Decryption Table)
// in the UAT format of Wireshark 4.0 (Debian 12's). DIR works as a Wireshark configuration
// directory: WIRESHARK_CONFIG_DIR=DIR tshark -o esp.enable_encryption_decode:TRUE -r cap.pcap.
//
// This hands out every key the appliance has: it exists for debugging in a lab, is off unless
// asked for, and main.cc logs a warning when it is on. The files are mode 0600, replaced whole
// (written beside and renamed, never through a symlink) when an SA comes or is rekeyed, and keep
// the SAs that went down too (up to a bound), so a capture taken earlier still decrypts.
#pragma once

#include <deque>
#include <string>

#include "absl/status/statusor.h"
#include "ike/sa/ike_manager.h"

namespace portcullis::vpnd {

class WiresharkKeys : public ike::IkeListener {
 public:
  // Opens (creating it with mode 0700 if missing) the directory; refuses a symlink.
  static absl::StatusOr<std::unique_ptr<WiresharkKeys>> Open(const std::string& dir);
  ~WiresharkKeys() override;

  void IkeUp(const ike::IkeSa& sa) override;
  void ChildUp(const ike::IkeSa& sa, const ike::ChildSa& child) override;
  void ChildDown(const ike::IkeSa&, const ike::ChildSa&) override {}
  // New outer endpoints (NAT mapping): the ESP SA lines carry addresses.
  void ChildUpdated(const ike::IkeSa& sa, const ike::ChildSa& child) override;

  // The CHILD SA's two ESP SAs into esp_sa (what ChildUp does besides making sure its IKE SA
  // is in the other table).
  void AddEsp(const ike::ChildSa& child);

  // One line of each table (exposed for the unit tests).
  static std::string IkeLine(const ike::IkeSa& sa);
  // The two ESP SAs of a CHILD SA: inbound (peer -> us) then outbound.
  static std::string EspLines(const ike::ChildSa& child);

  // Lines kept per table: the newest SAs; older ones fall off.
  static constexpr size_t kMaxLines = 512;

 private:
  explicit WiresharkKeys(int dirfd) : dirfd_(dirfd) {}
  void Replace(const char* name, const std::deque<std::string>& lines);
  static void Keep(std::deque<std::string>& lines, std::string line);

  int dirfd_;
  std::deque<std::string> ike_lines_, esp_lines_;
};

}  // namespace portcullis::vpnd
