// The interface snapshot's indexes: which interface a frame arrived on (port, VLAN), which
// interface owns a local address, the source address of an interface, and the ports workers
// poll, all rebuilt from the interfaces by Reindex.
#include "dataplane/tables/interface_table.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <catch2/catch.hpp>
#include <memory>
#include <vector>

#include "dataplane/tables/sa_table.h"

namespace portcullis::dp {
namespace {

constexpr uint32_t kInterfaces = 1024;  // the default --max-interfaces

uint32_t Ip(const char* s) {
  uint32_t a = 0;
  REQUIRE(inet_pton(AF_INET, s, &a) == 1);
  return a;
}

// Zeroed, as the command applier starts every snapshot.
std::unique_ptr<Tables> NewTables() {
  return std::make_unique<Tables>(kInterfaces);
}

Interface& Add(Tables& t, uint32_t ifindex, IfKind kind, uint16_t port = kNoPort,
               uint16_t vlan = 0) {
  Interface& f = t.ifs[ifindex];
  f.kind = kind;
  f.up = true;
  f.port = port;
  f.vlan = vlan;
  return f;
}

void Address(Interface& f, const char* addr, uint8_t len) {
  f.addr[f.naddr++] = {Ip(addr), len};
}

std::vector<uint16_t> Polled(const Tables& t) {
  return std::vector<uint16_t>(t.polled, t.polled + t.npolled);
}

TEST_CASE("interfaces: a frame's interface from its port and VLAN", "[tables][interfaces]") {
  auto t = NewTables();
  Add(*t, 1, IfKind::kPort, 0);
  Add(*t, 2, IfKind::kBond, 3);
  Add(*t, 3, IfKind::kVif, 0, 100).parent = 1;
  Add(*t, 4, IfKind::kVif, 0, 200).parent = 1;
  Add(*t, 5, IfKind::kVif, 5, 100);  // a VLAN on a port without an untagged interface
  Add(*t, 6, IfKind::kVti);
  t->Reindex();

  CHECK(t->RxInterface(0, 0) == 1);
  CHECK(t->RxInterface(3, 0) == 2);
  CHECK(t->RxInterface(0, 100) == 3);
  CHECK(t->RxInterface(0, 200) == 4);
  CHECK(t->RxInterface(5, 100) == 5);
  CHECK(t->RxInterface(0, 300) == 0);  // VLAN nobody configured
  CHECK(t->RxInterface(3, 100) == 0);  // VLAN configured on another port only
  CHECK(t->RxInterface(5, 0) == 0);    // untagged where only a VLAN is configured
  CHECK(t->RxInterface(1, 0) == 0);    // port without interfaces
  CHECK(t->RxInterface(kMaxPorts, 0) == 0);
  CHECK(t->RxInterface(0xffff, 100) == 0);
}

TEST_CASE("interfaces: workers poll exactly the configured ports, in order",
          "[tables][interfaces]") {
  auto t = NewTables();
  Add(*t, 1, IfKind::kPort, 7);
  Add(*t, 2, IfKind::kPort, 2);
  Add(*t, 3, IfKind::kVif, 4, 10);
  Add(*t, 4, IfKind::kPort, kNoPort);  // named port missing from the port map
  Add(*t, 5, IfKind::kVti);
  Add(*t, 6, IfKind::kLoopback);
  t->Reindex();
  CHECK(Polled(*t) == std::vector<uint16_t>{2, 4, 7});
  CHECK(t->RxInterface(0, 0) == 0);  // the port-less interface never claims port 0

  // A new snapshot without port 7's interface stops polling it.
  t->ifs[1] = {};
  t->Reindex();
  CHECK(Polled(*t) == std::vector<uint16_t>{2, 4});
  CHECK(t->RxInterface(7, 0) == 0);
}

TEST_CASE("interfaces: a port carries up to 32 VLANs", "[tables][interfaces]") {
  auto t = NewTables();
  Add(*t, 1, IfKind::kPort, 0);
  for (uint16_t v = 1; v <= 32; ++v) Add(*t, 1 + v, IfKind::kVif, 0, static_cast<uint16_t>(v));
  t->Reindex();
  for (uint16_t v = 1; v <= 32; ++v) CHECK(t->RxInterface(0, v) == 1 + v);
  CHECK(t->RxInterface(0, 0) == 1);
}

TEST_CASE("interfaces: local addresses are found whatever their order", "[tables][interfaces]") {
  auto t = NewTables();
  Address(Add(*t, 9, IfKind::kPort, 0), "192.0.2.1", 24);
  Interface& lan = Add(*t, 2, IfKind::kPort, 1);
  Address(lan, "10.1.0.1", 24);
  Address(lan, "10.1.1.1", 24);
  Address(Add(*t, 5, IfKind::kVti), "172.16.0.1", 30);
  Address(Add(*t, 6, IfKind::kLoopback), "1.1.1.1", 32);
  Address(Add(*t, 7, IfKind::kLoopback), "255.255.255.254", 32);
  t->Reindex();
  REQUIRE(t->nlocal == 6);

  CHECK(t->LocalInterface(Ip("192.0.2.1")) == 9);
  CHECK(t->LocalInterface(Ip("10.1.0.1")) == 2);
  CHECK(t->LocalInterface(Ip("10.1.1.1")) == 2);
  CHECK(t->LocalInterface(Ip("172.16.0.1")) == 5);
  CHECK(t->LocalInterface(Ip("1.1.1.1")) == 6);
  CHECK(t->LocalInterface(Ip("255.255.255.254")) == 7);
  // Neighbours on the same networks are not ours; nor is anything below or above all of ours.
  CHECK(t->LocalInterface(Ip("192.0.2.2")) == 0);
  CHECK(t->LocalInterface(Ip("10.1.0.2")) == 0);
  CHECK(t->LocalInterface(Ip("0.0.0.0")) == 0);
  CHECK(t->LocalInterface(Ip("255.255.255.255")) == 0);

  // An empty snapshot owns nothing.
  auto empty = NewTables();
  empty->Reindex();
  CHECK(empty->LocalInterface(Ip("10.1.0.1")) == 0);
}

TEST_CASE("interfaces: the primary address is an interface's first", "[tables][interfaces]") {
  auto t = NewTables();
  Interface& lan = Add(*t, 2, IfKind::kPort, 0);
  Address(lan, "10.1.0.1", 24);
  Address(lan, "10.9.0.1", 16);
  Add(*t, 3, IfKind::kPort, 1);
  t->Reindex();
  CHECK(t->PrimaryAddress(2) == Ip("10.1.0.1"));
  CHECK(t->PrimaryAddress(3) == 0);  // no address
  CHECK(t->PrimaryAddress(4) == 0);  // no interface
  CHECK(t->PrimaryAddress(kInterfaces) == 0);
}

TEST_CASE("interfaces: Reindex forgets what the interfaces no longer say", "[tables][interfaces]") {
  auto t = NewTables();
  Interface& wan = Add(*t, 1, IfKind::kPort, 0);
  Address(wan, "192.0.2.1", 24);
  Add(*t, 2, IfKind::kVif, 0, 10);
  t->Reindex();
  REQUIRE(t->LocalInterface(Ip("192.0.2.1")) == 1);
  REQUIRE(t->RxInterface(0, 10) == 2);

  t->ifs[1].naddr = 0;
  t->ifs[2] = {};
  t->Reindex();
  CHECK(t->LocalInterface(Ip("192.0.2.1")) == 0);
  CHECK(t->RxInterface(0, 10) == 0);
  CHECK(t->RxInterface(0, 0) == 1);
  CHECK(t->nlocal == 0);
}

TEST_CASE("interfaces: a VTI's outbound SA with its engine state and owner",
          "[tables][interfaces]") {
  // A burst over many tunnels reads the SA and its owner from the interface's first line and
  // never the SaEntry: the three must agree.
  esp::SaConfig c;
  c.spi = 0x1234;
  c.direction = esp::Direction::kOutbound;
  c.family = AF_INET;
  c.cipher = esp::Cipher::kAesGcm128;
  c.enc_key_len = 16;
  auto sa = esp::AllocateSa(c);
  REQUIRE(sa.ok());
  SaEntry e(std::move(*sa), 3);
  auto t = NewTables();
  Interface& vti = Add(*t, 5, IfKind::kVti);
  vti.SetOutSa(&e);
  CHECK(vti.out_sa == &e);
  CHECK(vti.out_esa == e.sa.get());
  CHECK(vti.out_owner == 3);
  CHECK(reinterpret_cast<uintptr_t>(&vti) % 64 == 0);
  CHECK(offsetof(Interface, out_esa) + sizeof vti.out_esa <= 64);
  // The usual layout: the burst asks for line 0 only.
  CHECK(e.sa->flags & esp::kSaFastOut);
  CHECK_FALSE(vti.out_line1);
  CHECK(offsetof(Interface, out_line1) < 64);
  vti.SetOutSa(nullptr);
  CHECK(vti.out_sa == nullptr);
  CHECK(vti.out_esa == nullptr);
  CHECK(vti.out_owner == 0);
  CHECK_FALSE(vti.out_line1);
  // NAT-T and an IPv6 outer header read line 1 too: the burst asks for it with line 0.
  for (const bool v6 : {false, true}) {
    esp::SaConfig o = c;
    if (v6) {
      o.family = AF_INET6;
    } else {
      o.udp_encap = true;
      o.udp_sport = o.udp_dport = 4500;
    }
    auto other = esp::AllocateSa(o);
    REQUIRE(other.ok());
    SaEntry oe(std::move(*other), 3);
    vti.SetOutSa(&oe);
    CHECK_FALSE(oe.sa->flags & esp::kSaFastOut);
    CHECK(vti.out_line1);
    vti.SetOutSa(nullptr);
  }
}

}  // namespace
}  // namespace portcullis::dp
